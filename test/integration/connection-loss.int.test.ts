import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createJetStreamEventLog,
  ensureEventStream,
  isCorrupt,
  type JetStreamEventLog,
  type ReplayItem,
} from '../../src/events/index.js';
import {
  allProjections,
  createKvProjectionStore,
  createProjectionRunner,
  type ProjectionRunner,
} from '../../src/projections/index.js';
import { acquireLease, type Lease } from '../../src/scheduler/lease.jetstream.js';
import { ev, jobSpec, uid } from '../support/events.js';
import { quietLogger } from '../support/farm.js';
import { connectTo } from '../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 23 point 9: `bench:scheduler` once died of an uncaught ClosedConnectionError thrown from
 * the reader's pull timer after the connection had closed. Every part that keeps timers,
 * callbacks or iterators on a connection (the reader's tail and bounded replay, the publisher,
 * the scheduler lease, the projection runner with its KV checkpoints) works while the connection
 * is closed under it, and separately while the server is killed and restarted or paused: the
 * process records no unhandled rejection or uncaught exception, and after a restore they resume.
 */
describe('a closed or lost connection under the readers, publisher, lease and runner', () => {
  let server: NatsServer;
  const faults: unknown[] = [];
  const onFault = (err: unknown) => faults.push(err);

  beforeAll(async () => {
    server = await startNatsServer();
    process.on('unhandledRejection', onFault);
    process.on('uncaughtException', onFault);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onFault);
    process.off('uncaughtException', onFault);
    await server?.stop();
  });

  /** Everything at work on one connection. */
  interface Work {
    nc: NatsConnection;
    log: JetStreamEventLog;
    lease: Lease;
    runner: ProjectionRunner;
    seen: number[];
    tailing: Promise<unknown>;
    replaying: Promise<unknown>;
    writing: Promise<unknown>;
    acks: number;
    errors: number;
    stop: boolean;
  }
  let w: Work;

  beforeEach(async () => {
    faults.length = 0;
    const nc = await connectTo(server);
    await ensureEventStream(await jetstreamManager(nc));
    const log = await createJetStreamEventLog(nc, { ackTimeoutMs: 1_000 });
    // A log long enough that a bounded replay is still reading when the connection goes.
    const fromSeq = (await log.lastSeq()) + 1;
    await Promise.all(
      Array.from({ length: 3_000 }, () =>
        log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
      ),
    );
    const lease = await acquireLease(nc, { holder: uid('h'), ttlMs: 600, logger: quietLogger });
    const store = await createKvProjectionStore(nc, { bucket: uid('cp') });
    const runner = createProjectionRunner({
      log,
      projections: allProjections(),
      store,
      checkpointEvery: { events: 200, ms: 300 },
      onSaveError: () => undefined,
    });
    await runner.start();
    runner.tail();
    const seen: number[] = [];
    const tail = log.tail({ fromSeq: 1 });
    w = {
      nc,
      log,
      lease,
      runner,
      seen,
      acks: 0,
      errors: 0,
      stop: false,
      tailing: (async () => {
        for await (const item of tail as AsyncIterable<ReplayItem>)
          seen.push(isCorrupt(item) ? item.seq : item.recorded.seq);
      })().catch((err: unknown) => err),
      replaying: (async () => {
        let n = 0;
        // Bounded to the preload: the writer below appends meanwhile, and a replay to the end
        // of the log counted whatever it had added before the replay read the end.
        for await (const batch of log.replayBatches({ fromSeq, untilSeq: fromSeq + 2_999 })) {
          n += batch.length;
          await sleep(5); // a slow reader: its pull timers are running when the fault comes
        }
        return n;
      })().catch((err: unknown) => err),
      writing: Promise.resolve(),
    };
    w.writing = (async () => {
      while (!w.stop) {
        const r = await log
          .append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 })
          .catch(() => undefined);
        if (r?.ok) w.acks++;
        else w.errors++;
        await sleep(10);
      }
    })();
    await sleep(300);
  }, 60_000);

  afterEach(async () => {
    w.stop = true;
    await w.writing;
    await w.runner.stop().catch(() => undefined);
    await w.lease.release().catch(() => undefined);
    await w.log.close().catch(() => undefined);
    await w.nc.close();
  });

  it('closing the connection: nothing throws, the tail ends, appends and the lease fail as data', async () => {
    await w.nc.close();
    // Longer than every timer involved: pull watchdog (0.5 s), stall limit (6 s), lease renewal
    // (0.2 s), publisher sweep (1 s), checkpoint saves (0.3 s).
    await sleep(7_000);
    expect(faults).toEqual([]);
    await w.tailing; // ends on its own: a tail on a closed connection is over
    const replay = await w.replaying;
    expect(replay === 3_000 || (replay as Error).message).toBeTruthy();
    await w.lease.lost; // told, not thrown
    expect(w.lease.held()).toBe(false);
    expect(w.errors).toBeGreaterThan(0);
  }, 30_000);

  for (const fault of ['restart', 'pause'] as const) {
    it(`${fault === 'restart' ? 'kill -9 and restart of' : 'SIGSTOP for 4 s of'} the server: nothing throws, all resume`, async () => {
      const before = w.acks;
      if (fault === 'restart') {
        await server.restart();
      } else {
        server.pause();
        await sleep(4_000);
        server.resume();
      }
      const t0 = Date.now();
      while (w.acks < before + 50 && Date.now() - t0 < 20_000) await sleep(50);
      expect(w.acks).toBeGreaterThanOrEqual(before + 50);
      const last = await w.log.lastSeq();
      await w.runner.waitFor(last, 20_000);
      while ((w.seen.at(-1) ?? 0) < last && Date.now() - t0 < 20_000) await sleep(50);
      expect(w.seen.slice(0, last)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(typeof (await w.replaying)).toBe('number');
      // The lease renews again (nobody else could take it): writes were paused, not deposed.
      while (!w.lease.held() && Date.now() - t0 < 20_000) await sleep(50);
      expect(w.lease.held()).toBe(true);
      expect(faults).toEqual([]);
    }, 60_000);
  }
});
