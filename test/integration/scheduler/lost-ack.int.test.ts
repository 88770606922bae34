import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import {
  ErrorCodes,
  SchedulerError,
  isCorrupt,
  type EventLog,
  type ReplayItem,
  type Tail,
} from '../../../src/events/index.js';
import { startScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { startFarm, type Farm } from '../../support/farm.js';

/**
 * The scheduler's event log, but the first append of `type` lands and its ack is lost: the
 * append fails with TIMEOUT, as on a cluster whose stream leader dies between storing a message
 * and acknowledging it (seen in the three-server failover test). The failure is reported only
 * once the scheduler's own tail has folded the landed event, as it has after a real 5 s timeout:
 * which of "the next round places it again" and "the index already holds it assigned" wins is
 * then not a race.
 */
function losingFirstAck(log: EventLog, type: string): { log: EventLog; lost: Promise<number> } {
  let armed = true;
  const waiting = new Map<number, () => void>();
  const folded = (seq: number) => waiting.get(seq)?.();
  let reportLost: (seq: number) => void = () => {};
  const lost = new Promise<number>((r) => (reportLost = r));
  const wrapped: EventLog = {
    read: (entity, id) => log.read(entity, id),
    replay: (range) => log.replay(range),
    replayBatches: (range) => log.replayBatches(range),
    lastSeq: () => log.lastSeq(),
    lastLiveSeq: () => log.lastLiveSeq(),
    async append(entity, id, events, opts) {
      const out = await log.append(entity, id, events, opts);
      if (!armed || !out.ok || !events.some((e) => e.type === type)) return out;
      armed = false;
      const seq = out.seqs[out.seqs.length - 1]!;
      await new Promise<void>((r) => waiting.set(seq, r));
      reportLost(seq);
      throw new SchedulerError(ErrorCodes.Timeout, 'no publish ack within 5000 ms (simulated)');
    },
    tail(opts) {
      const inner: Tail = log.tail(opts);
      async function* items(): AsyncGenerator<ReplayItem> {
        for await (const item of inner as AsyncIterable<ReplayItem>) {
          yield item;
          // Resumed when the scheduler asks for the next item: it has folded this one.
          folded(isCorrupt(item) ? item.seq : item.recorded.seq);
        }
      }
      const it = items();
      return { [Symbol.asyncIterator]: () => it, stop: () => inner.stop() };
    },
  };
  return { log: wrapped, lost };
}

describe('a scheduler append that landed but whose ack was lost', () => {
  let farm: Farm;
  let scheduler: Scheduler | undefined;

  beforeAll(async () => {
    farm = await startFarm({ agents: 1, scheduler: false });
  }, 30_000);
  afterAll(async () => {
    await scheduler?.stop();
    await farm?.stop();
  }, 30_000);

  it('chunk.assigned: the chunk is still launched and its job runs to success', async () => {
    const { log, lost } = losingFirstAck(farm.log, 'chunk.assigned');
    scheduler = await startScheduler({
      nc: farm.nc,
      eventLog: log,
      logger: pino({ level: 'silent' }),
      holder: 'lost-ack',
      leaseTtlMs: 1500,
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const id = await farm.submit({ name: 'lost-ack', user: 'ann', command: ['true'], memMb: 16 });
    const seq = await lost;
    const assigned = (await farm.events('chunk', `${id}:0`)).find(
      (e) => e.type === 'chunk.assigned',
    );
    expect(assigned?.recorded.seq).toBe(seq); // the landed append was this job's placement
    // Before the fix the job stayed `queued` and its chunk `assigned` with no worker, for good:
    // the launch went out only after an acknowledged append, and only a takeover relaunched.
    const job = await farm.waitFor(id, undefined, 15_000);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:0`);
    expect(chunk.filter((e) => e.type === 'chunk.assigned')).toHaveLength(1);
    expect((await farm.events('worker', `${id}:0:1`)).map((e) => e.type)).toContain(
      'worker.started',
    );
  }, 30_000);
});
