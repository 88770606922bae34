import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJetStreamEventLog,
  ensureEventStream,
  type JetStreamEventLog,
} from '../../../src/events/index.js';
import { ev, jobSpec, uid } from '../../support/events.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

/**
 * A fold slower than its delivery must not keep timers from running: a scheduler catching up on
 * a large log missed its lease renewals for seconds and lost the lease to its standby (issue 23,
 * 10,000-job chaos run). Here a tail and a replay are folded at ~1 ms per event for ~4 s each
 * while a 10 ms interval timer measures the longest gap between its ticks.
 */
const EVENTS = 4_000;
const WORK_MS = 1;

describe('a long fold gives the event loop its turns', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let log: JetStreamEventLog;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectTo(server);
    await ensureEventStream(await jetstreamManager(nc));
    log = await createJetStreamEventLog(nc);
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < EVENTS; i++)
      appends.push(
        log.append('job', uid('j'), [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
      );
    await Promise.all(appends);
  }, 120_000);
  afterAll(async () => {
    await log?.close();
    await nc?.close();
    await server?.stop();
  });

  /** Fold `items` with `WORK_MS` of busy work each; the longest gap between timer ticks (ms). */
  async function longestTimerGap(items: AsyncIterable<unknown>, count: number): Promise<number> {
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 10);
    try {
      let n = 0;
      for await (const _ of items) {
        const until = performance.now() + WORK_MS;
        while (performance.now() < until); // the fold's own work, synchronous as a real fold's is
        if (++n === count) break;
      }
      expect(n).toBe(count);
    } finally {
      clearInterval(timer);
    }
    return longest;
  }

  // The bound is generous (a loaded 2-core machine delays timers too); without the turns the
  // longest gap is the fold of one delivered batch (all that arrived meanwhile, thousands of events):
  // 2-4 s here.
  it('a tail from the start', async () => {
    const tail = log.tail({ fromSeq: 1 });
    try {
      expect(await longestTimerGap(tail, EVENTS)).toBeLessThan(1_500);
    } finally {
      await tail.stop();
    }
  }, 60_000);

  it('a replay', async () => {
    expect(await longestTimerGap(log.replay(), EVENTS)).toBeLessThan(1_500);
  }, 60_000);
});
