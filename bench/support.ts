import { performance } from 'node:perf_hooks';

/** Run `fn` and return how many operations per second it achieved. */
export async function rate(ops: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  return Math.round(ops / s);
}

/** Run `count` async operations with at most `window` in flight. */
export async function pipelined(
  count: number,
  window: number,
  op: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(window, count) }, async () => {
    while (next < count) await op(next++);
  });
  await Promise.all(lanes);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Median of several runs. */
export async function medianOf(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  return median(xs);
}

/**
 * Alternate a raw ceiling and Drover's path `runs` times; the ratio is the median of the pairs'
 * ratios (the machines here drift by up to ±40%, so only side-by-side figures compare).
 */
export async function paired(
  runs: number,
  raw: () => Promise<number>,
  ours: () => Promise<number>,
): Promise<{ raw: number; ours: number; ratio: number; range: [number, number] }> {
  const r: number[] = [];
  const o: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    r.push(await raw());
    o.push(await ours());
    ratios.push(ratio(o[i] as number, r[i] as number));
  }
  return {
    raw: median(r),
    ours: median(o),
    ratio: median(ratios),
    range: [Math.min(...ratios), Math.max(...ratios)],
  };
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/** Median time (ms) of 20 GETs of `url` after one warm-up, and the body it served. */
export async function medianGet(url: string): Promise<{ ms: number; body: string }> {
  const body = await (await fetch(url)).text();
  const xs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await (await fetch(url)).text();
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  return { ms: xs[10]!, body };
}
