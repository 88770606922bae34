import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/api/index.js';
import { connectFarm } from '../../../src/cli/connection.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { logged, running, until, upDoc } from '../../support/service-output.js';
import { freePort, startNatsCluster, type NatsCluster } from '../../support/nats-cluster.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

const services: DroverProcess[] = [];
let dataDir: string | undefined;
const spawnService = (args: string[], env: Record<string, string>) => {
  const p = spawnDrover([...args, '--json'], {
    DROVER_DATA_DIR: dataDir as string,
    DROVER_HEARTBEAT_MS: '250',
    DROVER_LEASE_TTL_MS: '1500',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...env,
  });
  services.push(p);
  return p;
};
const schedulerAndAgent = (url: string, node: string) => [
  spawnService(['scheduler'], { DROVER_NATS_URL: url }),
  spawnService(['agent', '--node', node, '--cpus', '2', '--mem', '1G'], { DROVER_NATS_URL: url }),
];

/** A job submitted through the API the scheduler hosts, until it succeeded. */
async function runsAJob(nc: NatsConnection): Promise<void> {
  const api = createApiClient(nc);
  const { jobId } = await until('the API to take a job', () =>
    api
      .submit({ name: 'after-start', user: 'ops', command: ['true'], memMb: 16 })
      .catch(() => undefined),
  );
  const state = await until('the job to succeed', async () => {
    const s = (await api.job(jobId).catch(() => undefined))?.state;
    return s === 'succeeded' || s === 'failed' ? s : undefined;
  });
  expect(state).toBe('succeeded');
}

afterEach(async () => {
  await Promise.all(services.splice(0).map((p) => p.stop()));
}, 60_000);
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * Issue 23: services started by systemd before or beside nats-server, or while a cluster has no
 * JetStream quorum, wait for it and come up (they exited 5 at their first JetStream call);
 * refused credentials still end them at once with exit 4.
 */
describe('services started before NATS is there', () => {
  let server: NatsServer | undefined;
  let cluster: NatsCluster | undefined;
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close();
    nc = undefined;
    await server?.stop();
    server = undefined;
    await cluster?.stop();
    cluster = undefined;
  }, 60_000);

  it('a scheduler, an agent, an api and a dashboard wait for a nats-server that starts 3 s later; a job runs', async () => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'drover-early-'));
    const port = await freePort(); // reserved: nothing listens on it yet
    const url = `nats://127.0.0.1:${port}`;
    const procs = [
      ...schedulerAndAgent(url, 'early'),
      spawnService(['api'], { DROVER_NATS_URL: url }),
      spawnService(['dashboard', '--port', '0'], { DROVER_NATS_URL: url }),
    ];
    await until('each to say what it waits for', () =>
      procs.every((p) => logged(p, 'waiting for nats-server').length > 0 || !running(p))
        ? true
        : undefined,
    );
    await sleep(3_000);
    for (const p of procs) {
      expect(running(p), p.output()).toBe(true);
      expect(logged(p, 'waiting for nats-server'), p.output()).toHaveLength(1);
    }
    server = await startNatsServer({ port });
    const [scheduler, agent, api, dashboard] = procs as [
      DroverProcess,
      DroverProcess,
      DroverProcess,
      DroverProcess,
    ];
    await until('the scheduler to lead', () => upDoc(scheduler, 'epoch'));
    await until('the agent to register', () => upDoc(agent, 'node'));
    await until('the api to serve', () => upDoc(api, 'serving'));
    await until('the dashboard to serve', () => upDoc(dashboard, 'url'));
    for (const p of procs) {
      // One line per thing waited for, never one per try.
      expect(logged(p, 'waiting for nats-server'), p.output()).toHaveLength(1);
      expect(logged(p, 'start-up wait over').length, p.output()).toBeGreaterThanOrEqual(1);
    }
    nc = await connect({ servers: server.url, noAsyncTraces: true });
    await runsAJob(nc);
  }, 180_000);

  it('waits out a cluster with two of three servers down (no quorum), then comes up', async () => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'drover-early-'));
    cluster = await startNatsCluster(3);
    // An existing farm at R3, as the README deploys it.
    await (await connectFarm(cluster.url, { DROVER_REPLICAS: '3' })).close();
    await cluster.member('s2').kill();
    await cluster.member('s3').kill();
    const procs = schedulerAndAgent(cluster.url, 'quorum');
    await until('both to wait for JetStream', () =>
      procs.every((p) => logged(p, 'waiting for JetStream').length > 0 || !running(p))
        ? true
        : undefined,
    );
    await sleep(3_000);
    for (const p of procs) expect(running(p), p.output()).toBe(true);
    await cluster.member('s2').start();
    await cluster.member('s3').start();
    const [scheduler, agent] = procs as [DroverProcess, DroverProcess];
    await until(
      'the scheduler to lead',
      () => upDoc(scheduler, 'epoch'),
      120_000,
      scheduler.output,
    );
    await until('the agent to register', () => upDoc(agent, 'node'), 120_000, agent.output);
    for (const p of procs) expect(logged(p, 'waiting for JetStream'), p.output()).toHaveLength(1);
    nc = await connect({ servers: [...cluster.servers], noAsyncTraces: true });
    await runsAJob(nc);
  }, 240_000);

  it('refused credentials still end a service at once with exit 4, a bad patience with 2', async () => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'drover-early-'));
    server = await startNatsServer({
      extraConfig: 'authorization { users = [ { user: ops, password: right } ] }',
    });
    const wrong = {
      DROVER_NATS_URL: server.url,
      DROVER_NATS_USER: 'ops',
      DROVER_NATS_PASS: 'wrong',
    };
    const t0 = Date.now();
    const procs = [
      spawnService(['scheduler'], wrong),
      spawnService(['agent', '--node', 'denied'], wrong),
      spawnService(['api'], wrong),
    ];
    const codes = await Promise.all(
      procs.map((p) => new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)))),
    );
    expect(codes).toEqual([4, 4, 4]);
    // Start-up of a node process plus one refused connect: never a wait with backoff.
    expect(Date.now() - t0).toBeLessThan(30_000);
    for (const p of procs) {
      expect(logged(p, 'waiting for nats-server'), p.output()).toHaveLength(0);
      expect(p.output()).toMatch(/FORBIDDEN/);
    }
    const bad = spawnService(['agent', '--node', 'x'], {
      DROVER_NATS_URL: server.url,
      DROVER_STARTUP_PATIENCE_MS: 'soon',
    });
    expect(await new Promise((r) => bad.child.once('exit', r))).toBe(2);
  }, 120_000);

  it('gives up with exit 5 once DROVER_STARTUP_PATIENCE_MS is spent', async () => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'drover-early-'));
    const port = await freePort();
    const p = spawnService(['agent', '--node', 'patient'], {
      DROVER_NATS_URL: `nats://127.0.0.1:${port}`,
      DROVER_STARTUP_PATIENCE_MS: '1500',
    });
    expect(await new Promise((r) => p.child.once('exit', r))).toBe(5);
    expect(p.output()).toMatch(/gave up waiting for nats-server/);
    expect(logged(p, 'waiting for nats-server')).toHaveLength(1);
  }, 60_000);
});
