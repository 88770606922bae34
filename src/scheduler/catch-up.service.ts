import type { Logger } from 'pino';
import type { EntityRuntime } from '../actors/index.js';
import {
  isCorrupt,
  parseEventSubject,
  type EventLog,
  type RecordedEvent,
  type ReplayItem,
} from '../events/index.js';
import { observeEvent, type Change } from './entity-view.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

export interface FollowDeps {
  readonly eventLog: EventLog;
  readonly runtime: EntityRuntime;
  /** Told of every new entity state the log brings (fold it into the indexes). */
  readonly changed: (c: Change) => void;
  /** Told of every event after its entity folded it (event-based folds: usage). */
  readonly event: (e: RecordedEvent) => void;
  /** Told of every folded sequence, and whether it came after catch-up (live). */
  readonly metrics?: SchedulerMetrics;
  readonly logger: Logger;
}

/** The log followed from its start: caught up once `caughtUp` resolves, live from then on. */
export interface LogFollower {
  /** The live log's last event when following began (what "caught up" means). */
  readonly caughtUpAt: number;
  /** Resolves once every event up to `caughtUpAt` was folded. */
  readonly caughtUp: Promise<void>;
  /** The last sequence folded so far. */
  readonly folded: number;
  /** Stop the tail and wait for the fold to end. */
  stop(): Promise<void>;
}

/**
 * Follow the whole log from sequence 1 into the runtime's cache: each event goes to its entity's
 * machine (`observe`), the new state to `changed`, then the event to `event`. The tail sees every
 * event once and in order, which is what event-based folds need. A corrupt message is logged and
 * skipped (the log's verification reports it; the fold must go on).
 *
 * Catch-up is this fold up to `caughtUpAt`; what a takeover does after it (sweep every open
 * entity, republish launches) is the service's, once `caughtUp` resolves.
 */
export async function followLog(deps: FollowDeps): Promise<LogFollower> {
  // The last live event, not the stream's last sequence: compaction may have moved the log's
  // last events away, and a tail waiting for that sequence would wait for the next append.
  const caughtUpAt = await deps.eventLog.lastLiveSeq();
  const tail = deps.eventLog.tail({ fromSeq: 1 });
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (caughtUpAt === 0) markCaughtUp();
  let folded = 0;
  const folding = (async () => {
    for await (const item of tail) {
      const seq = fold(deps, item);
      folded = seq;
      const event = isCorrupt(item) ? undefined : (item as RecordedEvent);
      deps.metrics?.applied(seq, event, seq > caughtUpAt);
      if (seq >= caughtUpAt) markCaughtUp();
    }
  })();
  return {
    caughtUpAt,
    caughtUp,
    get folded() {
      return folded;
    },
    async stop() {
      await tail.stop();
      await folding.catch(() => undefined);
    },
  };
}

/** Fold one item; returns its sequence. */
function fold(deps: FollowDeps, item: ReplayItem): number {
  if (isCorrupt(item)) {
    deps.logger.error({ seq: item.seq, subject: item.subject }, 'corrupt message skipped');
    return item.seq;
  }
  const e = item as RecordedEvent;
  const where = parseEventSubject(e.recorded.subject);
  if (where) {
    const change = observeEvent(deps.runtime, where.entity, where.id, e);
    // The submission's position is the queue's final tie-break (FarmIndex.submitSeq).
    if (change)
      deps.changed(e.type === 'job.submitted' ? { ...change, seq: e.recorded.seq } : change);
    deps.event(e);
  }
  return e.recorded.seq;
}
