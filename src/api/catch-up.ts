import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ErrorCodes, SchedulerError } from '../events/index.js';

/** How long a start-up fold may make no progress at all before it is given up (ms). */
export const CATCH_UP_STALL_MS = 60_000;
/** How often a start-up fold logs where it is (ms). */
export const CATCH_UP_PROGRESS_MS = 5_000;

export interface CatchUpOptions {
  /** What is folding, for the log lines and the error (`read model`, `dashboard feed`). */
  readonly what: string;
  /** The sequence to reach (the log's last one when the service started). */
  readonly target: number;
  /** The last sequence folded so far. */
  readonly position: () => number;
  readonly logger: Logger;
  /** Give up after this long without any progress (default `CATCH_UP_STALL_MS`). */
  readonly stallMs?: number;
  readonly progressMs?: number;
  readonly clock?: () => number;
}

/**
 * Wait until a start-up fold reaches `target`. No fixed deadline: a large log takes as long as it
 * takes on a loaded machine, so this fails only when the fold stops moving for `stallMs` (a
 * stuck reader, a lost server), and says every `progressMs` how far it is and how fast it goes.
 */
export async function awaitCatchUp(o: CatchUpOptions): Promise<void> {
  const clock = o.clock ?? Date.now;
  const stallMs = o.stallMs ?? CATCH_UP_STALL_MS;
  const progressMs = o.progressMs ?? CATCH_UP_PROGRESS_MS;
  const started = clock();
  const from = o.position();
  let last = from;
  let lastMovedAt = started;
  let lastLog = { at: started, seq: from };
  for (;;) {
    const seq = o.position();
    if (seq >= o.target) break;
    const now = clock();
    if (seq > last) [last, lastMovedAt] = [seq, now];
    if (now - lastMovedAt > stallMs) {
      throw new SchedulerError(
        ErrorCodes.Timeout,
        `${o.what} made no progress for ${Math.round(stallMs / 1000)} s at seq ${seq} (log at ${o.target})`,
      );
    }
    if (now - lastLog.at >= progressMs) {
      const eventsPerSecond = Math.round(((seq - lastLog.seq) * 1000) / (now - lastLog.at));
      o.logger.info(
        { seq, target: o.target, eventsPerSecond, percent: Math.floor((seq * 100) / o.target) },
        `${o.what} catching up`,
      );
      lastLog = { at: now, seq };
    }
    await sleep(20);
  }
  const seconds = (clock() - started) / 1000;
  o.logger.info(
    { seq: o.position(), folded: o.position() - from, seconds: Math.round(seconds * 10) / 10 },
    `${o.what} caught up`,
  );
}
