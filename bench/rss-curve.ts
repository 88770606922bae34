/** What a service's RSS did over a run, sampled at times `t` (ms from the start), in MB. */
export interface RssCurve {
  readonly samples: number;
  readonly start: number;
  readonly p50: number;
  readonly max: number;
  readonly end: number;
  /** Least-squares slope over every sample, MB per hour. */
  readonly slopeMbPerHour: number;
  /** The same over the second half only: past warm-up (caches filling, JIT), a leak shows here. */
  readonly secondHalfSlopeMbPerHour: number;
}

/** Summarise a sampled RSS curve. Pure. */
export function rssCurve(xs: readonly { t: number; mb: number }[]): RssCurve {
  const mbs = xs.map((x) => x.mb);
  const sorted = [...mbs].sort((a, b) => a - b);
  return {
    samples: xs.length,
    start: mbs[0] ?? 0,
    p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
    end: mbs.at(-1) ?? 0,
    slopeMbPerHour: slopePerHour(xs),
    secondHalfSlopeMbPerHour: slopePerHour(xs.slice(Math.floor(xs.length / 2))),
  };
}

function slopePerHour(xs: readonly { t: number; mb: number }[]): number {
  if (xs.length < 2) return 0;
  const n = xs.length;
  const mt = xs.reduce((s, x) => s + x.t, 0) / n;
  const mm = xs.reduce((s, x) => s + x.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of xs) {
    num += (x.t - mt) * (x.mb - mm);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? 0 : Math.round((num / den) * 3_600_000 * 10) / 10;
}
