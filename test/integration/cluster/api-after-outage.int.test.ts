import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/api/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';
import { logged, running, until, upDoc } from '../../support/service-output.js';

/**
 * Issue 23, the chaos run's settle phase: the harness's requests got "no Drover API service
 * answers". A `drover scheduler` serves the API beside its scheduler, and a deposed one stands by
 * for the lease in the same process; while it waited, one failed read of the lease (JetStream
 * not answering: here its server stalled for 7 s, past a request's 5 s) ended the wait, and
 * the process exited 5, taking its API along. Now the wait goes on, and the API (which never
 * depended on the lease) answers again once the server does.
 */
describe('the API of a deposed scheduler after JetStream stalled', () => {
  const procs: DroverProcess[] = [];
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    server?.resume();
    await Promise.all(procs.map((p) => p.stop()));
    await nc?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('answers again, and its process still stands by', async () => {
    server = await startNatsServer();
    dataDir = await mkdtemp(join(tmpdir(), 'drover-api-outage-'));
    const spawn = (args: string[], id: string) => {
      const p = spawnDrover([...args, '--json'], {
        DROVER_NATS_URL: server!.url,
        DROVER_DATA_DIR: dataDir!,
        DROVER_LEASE_TTL_MS: '1500',
        DROVER_SCHEDULER_ID: id,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      });
      procs.push(p);
      return p;
    };
    // The only API is a's; b, without one, takes the lease while a is paused.
    const a = spawn(['scheduler'], 'sched-a');
    await until('a to lead', () => upDoc(a, 'epoch'));
    const b = spawn(['scheduler', '--no-api'], 'sched-b');
    await sleep(500);
    a.child.kill('SIGSTOP');
    await until(
      'b to lead',
      () => upDoc(b, 'epoch'),
      60_000,
      () => b.output(),
    );
    a.child.kill('SIGCONT');
    await until(
      'a to see it was deposed',
      () => (logged(a, 'deposed: standing by to lead again').length > 0 ? true : undefined),
      30_000,
      () => a.output(),
    );
    nc = await connect({ servers: server.url, noAsyncTraces: true, maxReconnectAttempts: -1 });
    const api = createApiClient(nc);
    await until('the API to answer', () => api.nodes().catch(() => undefined));

    server.pause(); // JetStream (and everything else) stops answering; connections stay open
    await sleep(7_000);
    server.resume();
    const resumed = Date.now();

    const answered = await until(
      'the API to answer again',
      () => api.nodes().catch(() => undefined),
      30_000,
      () => a.output().slice(-3000),
    );
    expect(answered).toEqual([]);
    console.log(`api answered ${Date.now() - resumed} ms after the server resumed`);
    await sleep(1_000);
    expect(running(a), a.output().slice(-3000)).toBe(true);
    expect(logged(a, 'unhandled rejection')).toEqual([]);
  }, 90_000);
});
