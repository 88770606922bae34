/**
 * One step of the leader's once-a-second tick, given the time. Today's steps: a sweep when the
 * lease renewal was late, the node watch, and a placement round (backoffs expire and reasons
 * refresh with time alone). This is the seam for the timekeeper a later issue adds: a step that
 * asks pure next-fire policy (from `src/policy/`, with `now` passed in) which scheduled runs are
 * due and hands their commands to the action runner, like any rule's actions.
 */
export type TickStep = (now: number) => void;

/**
 * Runs `steps` in order every `intervalMs` while `active()` (leading, caught up). A step that
 * throws is reported to `onError` and does not stop the others. Returns the stop function.
 */
export function startTicker(
  steps: readonly TickStep[],
  o: {
    readonly intervalMs: number;
    readonly clock: () => number;
    readonly active: () => boolean;
    readonly onError: (err: unknown) => void;
  },
): () => void {
  const timer = setInterval(() => {
    if (!o.active()) return;
    const now = o.clock();
    for (const step of steps) {
      try {
        step(now);
      } catch (err) {
        o.onError(err);
      }
    }
  }, o.intervalMs);
  return () => clearInterval(timer);
}
