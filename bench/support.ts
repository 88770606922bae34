import { performance } from 'node:perf_hooks';

/** Run `fn` and return how many operations per second it achieved. */
export async function rate(ops: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  return Math.round(ops / s);
}

/** Run `count` async operations with at most `window` in flight. */
export async function pipelined(count: number, window: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(window, count) }, async () => {
    while (next < count) await op(next++);
  });
  await Promise.all(lanes);
}

/** Median of several runs: the machines here are noisy (±40%), so compare in one run. */
export async function median(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}
