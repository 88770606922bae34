import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { Registry } from 'prom-client';
import {
  applyEvent,
  createApiClient,
  createApiMetrics,
  emptyReadModel,
  startApiService,
} from '../src/api/index.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { ensureFarmStreams, isCorrupt } from '../src/events/index.js';
import { serveMetrics, serviceRegistry } from '../src/metrics/index.js';
import { createAgentMetrics } from '../src/node-agent/index.js';
import { createSchedulerMetrics } from '../src/scheduler/main.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import buildCli from '../test/support/build-cli.js';
import { spawnDrover } from '../test/support/drover-process.js';
import { farmHistory } from '../test/support/projection-history.js';
import { spawnHollowProcess, type HollowProcess } from '../test/support/bench-hollow.js';
import { seedHistories } from './growth-seed.js';
import { medianGet } from './support.js';

/**
 * `npm run bench:scrape` (issue 19): the scrape time of each /metrics page on a farm of 1,000
 * nodes and 100,000 jobs in the log (× BENCH_SCALE): the dashboard's farm gauges folded from that
 * log, the scheduler's page after a round with every job's reasons, the API's after requests, an
 * agent's page (one node: each agent serves its own). Beside each, its floor in the same run: a GET of a static body of
 * the same size from a bare node:http server (the transport and the bytes, no rendering).
 * Median of 20 GETs after a warm-up. Also the start-up of `drover dashboard` and `drover api` on
 * that log, each in its own process as users run it: cold (no start-up snapshot: the whole log is
 * folded) and warm (from the snapshot the cold one saved on stop), with the process's RSS once
 * ready, beside the floor of a bare read and decode of the whole log in the same run.
 * Prints one JSON document.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const JOBS = Math.round(100_000 * scale);
const NODES = Math.round(1_000 * scale);
const PIECE = 2_000; // jobs per generated history piece (placed on 20 of the nodes)
const logger = pino({ level: 'silent' });
const say = (line: string) =>
  process.stderr.write(`${new Date().toISOString()} ${line} (load ${loadavg()[0]?.toFixed(1)})\n`);

/** The floor: the same bytes from a server that renders nothing. */
async function floorMs(body: string): Promise<number> {
  const server = createServer((_, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    return (await medianGet(`http://127.0.0.1:${port}/metrics`)).ms;
  } finally {
    server.close();
  }
}

async function page(name: string, url: string) {
  const { ms, body } = await medianGet(url);
  const floor = await floorMs(body);
  const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    page: name,
    ms: r2(ms),
    floorMs: r2(floor),
    ratio: r2(ms / floor),
    bytes: body.length,
    series,
  };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function rssMb(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/**
 * Time from spawn to the service's `--json` ready line, its memory then, and the time its
 * clean stop takes (which saves its start-up snapshot).
 */
async function startup(
  service: 'dashboard' | 'api',
  phase: string,
  natsUrl: string,
  scrape?: (url: string) => Promise<void>,
) {
  const args = service === 'dashboard' ? ['dashboard', '--port', '0', '--json'] : ['api', '--json'];
  const t0 = performance.now();
  const p = spawnDrover(args, { DROVER_NATS_URL: natsUrl, LOG_LEVEL: 'info' });
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (/^\{"(url|serving)"/m.test(p.output())) {
        clearInterval(poll);
        resolve();
      } else if (p.child.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`${service} exited before ready:\n${p.output().slice(-2000)}`));
      }
    }, 50);
  });
  const readyS = (performance.now() - t0) / 1000;
  const mem = rssMb(p.child.pid as number);
  const url = /^\{"url":"([^"]+)"/m.exec(p.output())?.[1];
  if (scrape && url) await scrape(url);
  const t1 = performance.now();
  await p.stop();
  const stopS = (performance.now() - t1) / 1000;
  const restored = /restored from its (start-up )?snapshot/.test(p.output());
  // What the service said about its snapshot (why a warm start folded the whole log).
  const snapshotLog = p
    .output()
    .split('\n')
    .filter((l) => /snapshot/i.test(l))
    .map((l) => l.slice(0, 400))
    .slice(0, 6);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { service, phase, restored, readyS: r1(readyS), stopS: r1(stopS), ...mem, snapshotLog };
}

async function main(): Promise<void> {
  buildCli();
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  const pages: { stop(): Promise<void> }[] = [];
  let hollow: HollowProcess | undefined;
  try {
    // The log written directly (raw conditional publishes, `growth-seed.ts`): histories of
    // PIECE jobs of mixed shapes placed on the hollow nodes, which register themselves after.
    const pieces = Math.ceil(JOBS / PIECE);
    const nodeNames = Array.from({ length: NODES }, (_, i) => `hollow-${i + 1}`);
    const t0 = performance.now();
    const seeded = await seedHistories(nc, {
      events: Infinity,
      history: (p) =>
        p >= pieces
          ? []
          : farmHistory(p + 1, {
              jobs: Math.min(PIECE, JOBS - p * PIECE),
              users: 50,
              names: 40,
              nodeNames: nodeNames.slice((p * 20) % NODES, ((p * 20) % NODES) + 20),
              tag: `s${p}`,
              t0: 1_700_000_000_000 + p * PIECE * 2_250,
            }),
    });
    const seedS = (performance.now() - t0) / 1000;
    const seedLoad = loadavg();
    await ensureFarmStreams(await jetstreamManager(nc)); // the hollow nodes' work stream
    hollow = await spawnHollowProcess({
      url: server.url,
      prefix: 'hollow',
      count: NODES,
      cpus: 16,
      memMb: 65_536,
      durationMs: 1_000,
      expect: Number.MAX_SAFE_INTEGER, // no work is sent: they register and heartbeat
    });
    const hollowS = (performance.now() - t0) / 1000 - seedS;
    const last = await log.lastSeq();
    say(
      `seeded ${seeded.events} events in ${Math.round(seedS)} s; ${NODES} hollow nodes in ${Math.round(hollowS)} s`,
    );

    const model = emptyReadModel();
    const schedulerRegistry = serviceRegistry();
    const scheduler = createSchedulerMetrics(schedulerRegistry);
    scheduler.watchJobs((id) => model.jobs.get(id));
    for await (const e of log.replay()) {
      if (isCorrupt(e)) continue;
      applyEvent(model, e);
      scheduler.applied(e.recorded.seq, e, true);
    }
    const pending = new Map(
      [...model.jobs.keys()].map((id) => [
        id,
        { reasons: [{ code: 'Resources' as never, message: '', unblock: '' }] },
      ]),
    );
    scheduler.round(0.001, pending, (id) => model.jobs.get(id));
    scheduler.watchHead(() => log.lastSeq());

    // The floor of any start-up from the log: reading and decoding it, nothing folded.
    const tRead = performance.now();
    let read = 0;
    for await (const batch of log.replayBatches()) read += batch.length;
    const readAllS = Math.round((performance.now() - tRead) / 100) / 10;
    const readLoad = loadavg().map((x) => Math.round(x * 10) / 10);
    say(`folded ${model.jobs.size} jobs; read floor ${readAllS} s`);
    const startups = [];
    // The dashboard's page is scraped from the warm `drover dashboard` process (as users run
    // it: farm gauges and its process metrics), before it stops.
    let dashboardPage: Awaited<ReturnType<typeof page>> | undefined;
    const scrapeDashboard = async (url: string) => {
      dashboardPage = await page('dashboard', `${url}/metrics`);
    };
    for (const service of ['dashboard', 'api'] as const) {
      for (const phase of ['cold', 'warm']) {
        const scrape = service === 'dashboard' && phase === 'warm' ? scrapeDashboard : undefined;
        // A failed start is a result to print, not a reason to lose the seeded log's figures.
        say(`start-up: ${service} ${phase}`);
        startups.push(
          await startup(service, phase, server.url, scrape).catch((err: unknown) => ({
            service,
            phase,
            error: String(err).slice(0, 2000),
          })),
        );
      }
    }

    const apiRegistry = serviceRegistry();
    const api = await startApiService({ nc, logger, metrics: createApiMetrics(apiRegistry) });
    pages.push(api);
    const client = createApiClient(nc);
    for (const id of [...model.jobs.keys()].slice(0, 300)) await client.job(id);
    await client.job('missing').catch(() => undefined);

    const agentRegistry = serviceRegistry();
    const agents = createAgentMetrics(agentRegistry);
    // One agent serves its own node's page (one agent per node): its size does not grow with the farm.
    const m = agents.forNode('node-0', () => 3);
    m.launched();
    m.exited('Succeeded');
    m.exited('OutOfMemory');
    m.sampled({ swapInPerSecond: 0, swapOutPerSecond: 0, load: [1, 1, 1] });
    const serve = (registry: Registry) =>
      serveMetrics({ registry, port: 0, host: '127.0.0.1', logger });
    const sched = await serve(schedulerRegistry);
    const apiPage = await serve(apiRegistry);
    const agentPage = await serve(agentRegistry);
    pages.push(sched, apiPage, agentPage);

    say('scrapes');
    const scrapeLoad = loadavg().map((x) => Math.round(x * 10) / 10);
    const results = [
      ...(dashboardPage ? [dashboardPage] : []),
      await page('scheduler', sched.url),
      await page('api', apiPage.url),
      await page('agents', agentPage.url),
    ];
    console.log(
      JSON.stringify(
        {
          jobs: model.jobs.size,
          nodes: NODES,
          events: last,
          seed: {
            seconds: Math.round(seedS),
            eventsPerS: Math.round(seeded.events / seedS),
            load: seedLoad.map((x) => Math.round(x * 10) / 10),
          },
          hollowRegisterSeconds: Math.round(hollowS),
          scrapes: results,
          startupFloor: { readAndDecodeSeconds: readAllS, events: read, load: readLoad },
          scrapeLoad,
          startups,
        },
        null,
        2,
      ),
    );
  } finally {
    for (const p of pages.reverse()) await p.stop().catch(() => undefined);
    await hollow?.stop().catch(() => undefined);
    await log.close();
    await nc.close();
    await server.stop();
  }
}

await main();
