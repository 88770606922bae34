import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { stateName } from '../../../src/actors/index.js';
import {
  createApiClient,
  createApiMetrics,
  startApiService,
  type ApiService,
} from '../../../src/api/index.js';
import { startDashboard, type Dashboard } from '../../../src/dashboard/index.js';
import {
  mergeRegistries,
  processRegistry,
  serveMetrics,
  serviceRegistry,
  type MetricsServer,
} from '../../../src/metrics/index.js';
import { createAgentMetrics, runAgent } from '../../../src/node-agent/index.js';
import { createSchedulerMetrics, runScheduler } from '../../../src/scheduler/main.js';
import { quietLogger, startFarm, type Farm } from '../../support/farm.js';
import { promtoolCheck, samples, scrape, valueOf } from '../../support/prometheus.js';
import { droverArgv } from '../../support/cli-main.js';

/**
 * Every /metrics endpoint of a farm in one process, as `drover up` wires it (one registry per
 * service, the dashboard's page merging them) and as `--metrics-port` serves each service alone.
 * Each page passes promtool, and the values move with real work.
 */
describe('/metrics of the scheduler, the agents, the API and the dashboard', () => {
  let farm: Farm;
  let api: ApiService;
  let dashboard: Dashboard;
  const servers: Record<string, MetricsServer> = {};
  const registries: Record<string, Registry> = {};

  beforeAll(async () => {
    farm = await startFarm({ agents: 0, scheduler: false });
    for (const name of ['process', 'scheduler', 'api', 'agents'])
      registries[name] = name === 'process' ? processRegistry() : serviceRegistry();
    const agents = createAgentMetrics(registries.agents!);
    for (const node of ['node-1', 'node-2'])
      farm.agents.push(
        await runAgent({
          nc: farm.nc,
          logger: quietLogger,
          node,
          dataDir: farm.dataDir,
          capacity: { cpus: 4, memMb: 4096, gpus: 0 },
          heartbeatMs: 250,
          sampleMs: 200,
          metrics: agents,
        }),
      );
    api = await startApiService({
      nc: farm.nc,
      logger: quietLogger,
      metrics: createApiMetrics(registries.api!),
    });
    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'metrics-test',
      leaseTtlMs: 1500,
      backoff: { baseMs: 100, maxMs: 1000 },
      metrics: createSchedulerMetrics(registries.scheduler!),
    });
    for (const name of ['scheduler', 'api', 'agents'])
      servers[name] = await serveMetrics({
        registry: mergeRegistries([registries[name]!]),
        port: 0,
        host: '127.0.0.1',
        logger: quietLogger,
      });
    dashboard = await startDashboard({
      nc: farm.nc,
      logger: quietLogger,
      port: 0,
      registries: Object.values(registries),
    });
  }, 30_000);

  afterAll(async () => {
    await dashboard?.stop();
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    await api?.stop();
    await farm?.stop();
  }, 30_000);

  /** Scrape `url` until `seqMetric` has folded the log up to `seq` (the page then shows it). */
  async function scrapeAt(url: string, seqMetric: string, seq: number): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const text = await scrape(url);
      if (valueOf(text, seqMetric) >= seq) return text;
      if (Date.now() > deadline) throw new Error(`${seqMetric} stayed below ${seq}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('counts placements, waits, launches, exits by cause and API requests by op', async () => {
    const client = createApiClient(farm.nc);
    const ok = await client.submit({ name: 'ok', user: 'alice', command: ['true'], memMb: 32 });
    const bad = await client.submit({
      name: 'bad',
      user: 'bob',
      command: ['sh', '-c', 'exit 3'],
      memMb: 32,
    });
    expect(stateName(await farm.waitFor(ok.jobId))).toBe('succeeded');
    expect(stateName(await farm.waitFor(bad.jobId))).toBe('failed');
    await expect(client.job('no-such-job')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const seq = await farm.log.lastSeq();

    const scheduler = await scrapeAt(
      servers.scheduler!.url,
      'drover_scheduler_tail_applied_sequence',
      seq,
    );
    promtoolCheck(scheduler);
    expect(valueOf(scheduler, 'drover_scheduler_placements_total')).toBe(2);
    expect(valueOf(scheduler, 'drover_scheduler_submit_to_running_seconds_count')).toBe(2);
    expect(valueOf(scheduler, 'drover_scheduler_round_duration_seconds_count')).toBeGreaterThan(0);
    expect(valueOf(scheduler, 'drover_scheduler_leader')).toBe(1);
    expect(valueOf(scheduler, 'drover_scheduler_lease_epoch')).toBe(farm.scheduler!.epoch);
    expect(valueOf(scheduler, 'drover_scheduler_tail_lag_events')).toBeGreaterThanOrEqual(0);

    const agents = await scrape(servers.agents!.url);
    promtoolCheck(agents);
    expect(valueOf(agents, 'drover_agent_launches_total')).toBe(2);
    expect(valueOf(agents, 'drover_agent_exits_total', { cause: 'Succeeded' })).toBe(1);
    expect(valueOf(agents, 'drover_agent_exits_total', { cause: 'ExitNonZero' })).toBe(1);
    for (const node of ['node-1', 'node-2']) {
      // The worker count is read at scrape time (an ended worker leaves it just after its events).
      for (const name of [
        'drover_agent_workers',
        'drover_node_load1',
        'drover_node_swap_in_pages_per_second',
      ])
        expect(samples(agents).some((s) => s.name === name && s.labels.node === node)).toBe(true);
      expect(valueOf(agents, 'drover_node_memory_total_bytes', { node })).toBeGreaterThan(0);
    }

    const apiText = await scrape(servers.api!.url);
    promtoolCheck(apiText);
    expect(valueOf(apiText, 'drover_api_requests_total', { op: 'submit', outcome: 'ok' })).toBe(2);
    expect(
      valueOf(apiText, 'drover_api_requests_total', { op: 'job.get', outcome: 'NOT_FOUND' }),
    ).toBe(1);
    expect(valueOf(apiText, 'drover_api_request_duration_seconds_count', { op: 'submit' })).toBe(2);

    const page = await scrapeAt(`${dashboard.url}/metrics`, 'drover_farm_log_sequence', seq);
    promtoolCheck(page);
    expect(valueOf(page, 'drover_farm_jobs', { state: 'succeeded' })).toBe(1);
    expect(valueOf(page, 'drover_farm_jobs', { state: 'failed' })).toBe(1);
    expect(valueOf(page, 'drover_farm_nodes', { state: 'ready' })).toBe(2);
    expect(valueOf(page, 'drover_farm_cpus', { kind: 'capacity' })).toBe(8);
    // The merged page: every service's metrics, each named once, and the process's own.
    for (const name of [
      'drover_scheduler_placements_total',
      'drover_api_requests_total',
      'drover_agent_launches_total',
      'process_cpu_seconds_total',
    ])
      expect(page.split('\n').filter((l) => l === `# TYPE ${name} counter`)).toHaveLength(1);
    // Bounded labels: no job id anywhere on any page.
    for (const text of [scheduler, agents, apiText, page])
      for (const id of [ok.jobId, bad.jobId]) expect(text).not.toContain(id);
  }, 60_000);

  it('drover api --metrics-port 0 serves its page (CONTRACT flag, a real child process)', async () => {
    const child = spawn(process.execPath, droverArgv(['api', '--metrics-port', '0', '--json']), {
      env: { ...process.env, DROVER_NATS_URL: farm.server.url, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Listened for from the spawn: a child that ended before the finally's listener was added
    // left that wait (and the test) hanging until vitest's timeout, whatever had gone wrong.
    const exited = once(child, 'exit');
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const line = await firstLine(child.stdout!, exited, () => log);
      const { metrics } = JSON.parse(line) as { metrics?: string };
      // The one line of --json is an error document when the start failed: say which.
      if (metrics === undefined) throw new Error(`drover api did not serve: ${line}\n${log}`);
      const text = await scrape(metrics);
      promtoolCheck(text);
      expect(text).toContain('# TYPE drover_api_requests_total counter');
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      expect(text).not.toContain('drover_scheduler_'); // only the services this process runs
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 30_000);

  it('answers only GET /metrics on a --metrics-port server', async () => {
    const res = await fetch(servers.api!.url.replace('/metrics', '/other'));
    expect(res.status).toBe(404);
  });
});

/**
 * The first line a child prints on stdout. Fails at once, with its log, if it exits first (the
 * line never comes), and a little before the test's own timeout if it is still starting, with
 * its log so far and the load: which start-up step it was at says whether it was slow or stuck.
 */
async function firstLine(
  stdout: Readable,
  exited: Promise<unknown[]>,
  log: () => string,
  withinMs = 25_000,
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const died = exited.then(([code, signal]) => {
    throw new Error(`drover api exited (${String(code ?? signal)}) before serving:\n${log()}`);
  });
  died.catch(() => undefined); // its exit after a served line (the SIGTERM) is no failure
  try {
    return await Promise.race([
      once(createInterface({ input: stdout }), 'line').then(([l]) => l as string),
      died,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const load = loadavg().map((l) => l.toFixed(1));
          reject(
            new Error(`drover api not serving after ${withinMs} ms (load ${load}):\n${log()}`),
          );
        }, withinMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
