/**
 * A long pure computation as steps: a generator that yields between bounded pieces of work, so a
 * shell may give the event loop a turn there. A round over 100,000 queued jobs held a scheduler's
 * event loop for seconds on a loaded machine, and its lease renewals waited (issue 23). A yield
 * carries nothing and the result is the generator's return value: the same whether the steps run
 * back to back (`runSteps`) or across turns (the scheduler's `runInTurns`). Pure.
 */
export type Steps<T> = Generator<void, T, void>;

/** Items of work between two yields (a yield is cheap; the shell decides when to take a turn). */
export const STEP_ITEMS = 256;

/** Run `steps` to their end now, ignoring the yields; their result. Pure. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Sorted runs of this many items are sorted by `Array.prototype.sort` in one step. */
const RUN = 1024;

/**
 * Sort `xs` in place with `cmp`, yielding every few thousand comparisons: a stable merge sort of
 * runs sorted by `Array.prototype.sort` (stable too). Two stable sorts by the same comparator
 * order every input alike, so the result is exactly `xs.sort(cmp)`'s. Pure but for `xs`.
 */
export function* sortSteps<T>(xs: T[], cmp: (a: T, b: T) => number): Steps<void> {
  const n = xs.length;
  if (n <= RUN) {
    xs.sort(cmp);
    return;
  }
  for (let lo = 0; lo < n; lo += RUN) {
    const run = xs.slice(lo, lo + RUN).sort(cmp);
    for (let k = 0; k < run.length; k++) xs[lo + k] = run[k]!;
    yield;
  }
  let src = xs;
  let dst = new Array<T>(n);
  let count = 0;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      // The left item on ties: stable.
      while (i < mid && j < hi) {
        dst[k++] = cmp(src[j]!, src[i]!) < 0 ? src[j++]! : src[i++]!;
        if (++count === RUN) {
          count = 0;
          yield;
        }
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  if (src !== xs) for (let k = 0; k < n; k++) xs[k] = src[k]!;
}
