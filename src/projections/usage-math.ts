import { arr, num, type Json } from './projection.js';

/** Aggregated usage of some runs. Mutable, owned by the usage state. @internal */
export interface Agg {
  runs: number;
  cpu: number;
  peak: number;
  mbs: number;
  wall: number;
  outcomes: Record<string, number>;
}

/** The figures of one ended run (`counted: false`: an outcome without a process). @internal */
export interface RunFigures {
  counted: boolean;
  cpu: number;
  peak: number;
  mbs: number;
  wall: number;
  cause: string;
}

/** @internal */
export function emptyAgg(): Agg {
  return { runs: 0, cpu: 0, peak: 0, mbs: 0, wall: 0, outcomes: {} };
}

function bump(outcomes: Record<string, number>, cause: string, n: number): void {
  // Own-property check: a cause is always a known enum value, but stay safe against `__proto__`.
  outcomes[cause] = (Object.hasOwn(outcomes, cause) ? (outcomes[cause] as number) : 0) + n;
}

/** Add one run to an aggregate (mutates `a`). @internal */
export function addRun(a: Agg, r: RunFigures): void {
  if (r.counted) {
    a.runs++;
    a.cpu += r.cpu;
    a.mbs += r.mbs;
    a.wall += r.wall;
    if (r.peak > a.peak) a.peak = r.peak;
  }
  bump(a.outcomes, r.cause, 1);
}

/** Add aggregate `b` into `a` (mutates `a`). @internal */
export function mergeAgg(a: Agg, b: Agg): void {
  a.runs += b.runs;
  a.cpu += b.cpu;
  a.mbs += b.mbs;
  a.wall += b.wall;
  if (b.peak > a.peak) a.peak = b.peak;
  for (const [c, n] of Object.entries(b.outcomes)) bump(a.outcomes, c, n);
}

/** @internal */
export function aggToJson(a: Agg): Json {
  return [a.runs, a.cpu, a.peak, a.mbs, a.wall, Object.entries(a.outcomes)];
}

/** @internal */
export function aggFromJson(j: Json): Agg {
  const x = arr(j);
  const outcomes: Record<string, number> = {};
  for (const e of arr(x[5])) bump(outcomes, String(arr(e)[0]), num(arr(e)[1]));
  return {
    runs: num(x[0]),
    cpu: num(x[1]),
    peak: num(x[2]),
    mbs: num(x[3]),
    wall: num(x[4]),
    outcomes,
  };
}

/** Headroom over the p95 peak, and the granularity of recommendations. */
export const RECOMMEND_HEADROOM = 1.2;
export const RECOMMEND_STEP_MB = 64;

/**
 * Nearest-rank percentile `p` (0..1] of `xs`; undefined when empty. Pure.
 * @example percentile([1, 2, 3, 4], 0.5) === 2
 */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}

/**
 * Memory to request: p95 of the peaks × 1.2, rounded up to 64 MB (at least 64). Null without
 * runs. Pure.
 * @example recommendMemMb([100, 200, 1000]) === 1216 // 1000 × 1.2 = 1200 → 19 × 64
 */
export function recommendMemMb(peaks: readonly number[]): number | null {
  const p95 = percentile(peaks, 0.95);
  if (p95 === undefined) return null;
  const want = p95 * RECOMMEND_HEADROOM;
  return Math.max(RECOMMEND_STEP_MB, Math.ceil(want / RECOMMEND_STEP_MB) * RECOMMEND_STEP_MB);
}
