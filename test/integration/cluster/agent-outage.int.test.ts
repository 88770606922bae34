import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/api/index.js';
import { connectFarm } from '../../../src/cli/connection.js';
import { EVENTS_STREAM } from '../../../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import {
  startNatsCluster,
  stepDownStream,
  streamLeader,
  type NatsCluster,
} from '../../support/nats-cluster.js';
import { logged, running, until, upDoc } from '../../support/service-output.js';

/**
 * Issue 23, the 10,000-job chaos run: an agent died of an unhandled rejection, a 503 from
 * JetStream on an append nobody observed yet. A cancelled process's end is two appends, the
 * worker's and the chunk's; the worker's was awaited only after the chunk's, and rejected
 * meanwhile. Here JetStream loses its quorum while a cancelled job's process (which ignores
 * SIGTERM) waits out its grace, so its end meets 503s: the two servers other than the agent's
 * (the event stream's leader among them) are killed. The agent stays up, nothing goes
 * unhandled, and the cancel completes once the servers are back.
 */
describe('an agent while JetStream has no quorum', () => {
  const procs: DroverProcess[] = [];
  let cluster: NatsCluster | undefined;
  let nc: NatsConnection | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await nc?.close();
    await cluster?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('stays up while the end of a cancelled process fails to land, and records it after', async () => {
    cluster = await startNatsCluster(3);
    dataDir = await mkdtemp(join(tmpdir(), 'drover-outage-'));
    await (await connectFarm(cluster.url, { DROVER_REPLICAS: '3' })).close();
    nc = await connect({ servers: cluster.url, noAsyncTraces: true, maxReconnectAttempts: -1 });
    // Everything on a server that does not lead the event stream, and stays up: once the other
    // two are gone the stream has no leader, and this server answers each append at once with
    // a 503 (on the leader's own server, appends would time out for ~20 s first).
    const leader = await streamLeader(nc, EVENTS_STREAM);
    const kept = cluster.members.find((m) => m.name !== leader)!;
    const others = cluster.members.filter((m) => m !== kept);
    const url = kept.url;
    const spawn = (args: string[]) => {
      const p = spawnDrover([...args, '--json'], {
        DROVER_NATS_URL: url,
        DROVER_DATA_DIR: dataDir!,
        DROVER_LEASE_TTL_MS: '1500',
        DROVER_HEARTBEAT_MS: '250',
        DROVER_NODE_LOST_MS: '30000',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      });
      procs.push(p);
      return p;
    };
    const scheduler = spawn(['scheduler']);
    const agent = spawn(['agent', '--node', 'n1', '--cpus', '2', '--mem', '1G']);
    await until('the scheduler to lead', () => upDoc(scheduler, 'epoch'));
    await until('the agent to register', () => upDoc(agent, 'node'));
    const api = createApiClient(nc);
    // Ignores SIGTERM (as its children do), so the cancel ends it by SIGKILL after the 5 s grace.
    const { jobId } = await api.submit({
      name: 'cancelled-through-outage',
      user: 'ops',
      command: [
        'sh',
        '-c',
        'trap "" TERM; echo \'{"progress":0.5}\' >> "$DROVER_REPORT"; sleep 60',
      ],
      memMb: 64,
    });
    await until('the job to run', async () =>
      (await api.job(jobId).catch(() => undefined))?.state === 'running' ? true : undefined,
    );
    await sleep(1_000);
    await api.cancel(jobId, { reason: 'stopped during an outage' });
    await until('the chunk to be cancelling', async () => {
      const job = await api.job(jobId).catch(() => undefined);
      return job?.chunks[0]?.state === 'cancelling' ? true : undefined;
    });
    if ((await streamLeader(nc, EVENTS_STREAM)) === kept.name)
      await stepDownStream(nc, EVENTS_STREAM);
    await Promise.all(others.map((m) => m.kill()));
    // Until the end's appends have failed (the old agent died of it), then a while longer.
    await until(
      "the process's end to fail to land",
      () => (logged(agent, 'finish failed').length > 0 || !running(agent) ? true : undefined),
      30_000,
      () => agent.output().slice(-3000),
    );
    await sleep(2_000);
    expect(running(agent), agent.output().slice(-3000)).toBe(true);
    const failures = logged(agent, 'finish failed').map(
      (l) => (l.err as { message?: string }).message,
    );
    await Promise.all(others.map((m) => m.start()));
    const back = Date.now();
    await cluster.ready(30_000);

    const state = await until(
      'the job to end',
      async () => {
        const s = (await api.job(jobId).catch(() => undefined))?.state;
        return s === 'cancelled' || s === 'failed' || s === 'succeeded' ? s : undefined;
      },
      45_000,
      () => agent.output().slice(-3000),
    );
    expect(state).toBe('cancelled');
    console.log(
      `${failures.length} failed ends (${failures[0]}); cancelled ${Date.now() - back} ms after the servers restarted`,
    );
    expect(running(agent), agent.output().slice(-3000)).toBe(true);
    expect(logged(agent, 'unhandled rejection'), agent.output().slice(-3000)).toEqual([]);
    expect(failures.join(' | ')).toMatch(/503/);
  }, 120_000);
});
