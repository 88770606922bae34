import {
  ErrorCodes,
  SchedulerError,
  isCorrupt,
  type EventLog,
  type ReplayItem,
  type Tail,
} from '../../src/events/index.js';

/**
 * The scheduler's event log, but the first append of `type` lands and its ack is lost: the
 * append fails with TIMEOUT, as on a cluster whose stream leader dies between storing a message
 * and acknowledging it (seen in the three-server failover test). The failure is reported only
 * once the scheduler's own tail has folded the landed event, as it has after a real 5 s timeout:
 * which of "the next round places it again" and "the index already holds it assigned" wins is
 * then not a race. With `hold`, the failure waits for it too (the test acts in between).
 */
export function losingFirstAck(
  log: EventLog,
  type: string,
  hold: Promise<void> = Promise.resolve(),
): { log: EventLog; landed: Promise<number>; lost: Promise<number> } {
  let armed = true;
  const waiting = new Map<number, () => void>();
  const folded = (seq: number) => waiting.get(seq)?.();
  let reportLost: (seq: number) => void = () => {};
  const lost = new Promise<number>((r) => (reportLost = r));
  let reportLanded: (seq: number) => void = () => {};
  const landed = new Promise<number>((r) => (reportLanded = r));
  const wrapped: EventLog = {
    read: (entity, id) => log.read(entity, id),
    lastSeqOf: (entity, id) => log.lastSeqOf(entity, id),
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
      reportLanded(seq);
      await hold;
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
      return {
        [Symbol.asyncIterator]: () => it,
        stop: () => inner.stop(),
        passed: () => inner.passed(),
      };
    },
  };
  return { log: wrapped, landed, lost };
}
