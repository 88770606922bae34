import type { Steps } from '../policy/index.js';

/**
 * How long the leader's long passes (a placement round, the rules after a takeover) may hold the
 * event loop before timers and I/O get a turn (ms); as the event log's reads do
 * (`read-turns.jetstream.ts`). The lease is renewed every third of its TTL from a timer: at the
 * chaos run's 1.5 s TTL a pass of a second paused writing, and one of 1.5 s gave the lease away.
 */
export const TURN_BUDGET_MS = 20;

/**
 * Run `steps` now until they end or have held the event loop for `budgetMs`, then on later turns
 * (one `setImmediate` each: timers and I/O run in between), `budgetMs` at a time. Undefined when
 * they ended now, synchronously (a small round is not deferred); else a promise of their end,
 * rejected with what a step threw.
 */
export function runInTurns(
  steps: Steps<void>,
  budgetMs = TURN_BUDGET_MS,
): Promise<void> | undefined {
  const slice = (): boolean => {
    const until = performance.now() + budgetMs;
    for (;;) {
      if (steps.next().done) return true;
      if (performance.now() >= until) return false;
    }
  };
  if (slice()) return undefined;
  return new Promise<void>((resolve, reject) => {
    const next = () => {
      try {
        if (slice()) resolve();
        else setImmediate(next);
      } catch (err) {
        reject(err as Error);
      }
    };
    setImmediate(next);
  });
}

/**
 * `steps` with the time spent inside them added to `spent.ms` (not the turns in between): what a
 * round costs, whatever else the process did while it was spread over turns.
 */
export function* timed<T>(steps: Steps<T>, spent: { ms: number }): Steps<T> {
  for (;;) {
    const at = performance.now();
    const r = steps.next();
    spent.ms += performance.now() - at;
    if (r.done) return r.value;
    yield;
  }
}

/** A deadline `budgetMs` from now: the function tells whether it has passed. */
export function deadline(budgetMs = TURN_BUDGET_MS): () => boolean {
  const until = performance.now() + budgetMs;
  return () => performance.now() >= until;
}
