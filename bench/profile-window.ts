import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `node --import tsx bench/profile-window.ts DIR FROM_US TO_US [TOP]`: where each process's CPU
 * went between two moments, from the `--cpu-prof` files that BENCH_PROFILE_DIR leaves (one per
 * farm process, each covering its whole life). FROM_US and TO_US are CLOCK_MONOTONIC µs, the
 * clock of both V8's profile timestamps and `process.hrtime` (the bench prints them as
 * `monoUs` beside each cancel run), so every process's samples can be cut to one run.
 * Prints JSON: per file, the busy share of the window and the TOP functions by self time.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Samples of a thread with nothing to do (`(program)`, native work outside JS, counts as busy). */
const IDLE = new Set(['(idle)']);

/** Self time (ms) per function within [from, to], and the busy total. Pure. */
export function selfTimes(p: CpuProfile, from: number, to: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = p.startTime;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const next = t + (p.timeDeltas[i + 1] ?? 0);
    const start = Math.max(t, from);
    const end = Math.min(next, to);
    if (end <= start) continue;
    const node = byId.get(p.samples[i] as number);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    const ms = (end - start) / 1000;
    self.set(name, (self.get(name) ?? 0) + ms);
    if (!IDLE.has(functionName)) busy += ms;
  }
  return { busy, self };
}

async function main(): Promise<void> {
  const [dir, fromArg, toArg, topArg] = process.argv.slice(2);
  if (!dir || !fromArg || !toArg)
    throw new Error('usage: profile-window.ts DIR FROM_US TO_US [TOP] (monotonic µs)');
  const from = Number(fromArg);
  const to = Number(toArg);
  const top = Number(topArg ?? 25);
  const out: Record<string, unknown> = { windowMs: (to - from) / 1000 };
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const p = JSON.parse(await readFile(join(dir, name), 'utf8')) as CpuProfile;
    const { busy, self } = selfTimes(p, from, to);
    if (busy === 0) continue;
    const ranked = [...self]
      .filter(([f]) => !IDLE.has(f.split(' ')[0] as string))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, ms]) => `${ms.toFixed(1)} ms  ${f}`);
    out[name] = { busyMs: Math.round(busy), busyShare: busy / ((to - from) / 1000), top: ranked };
  }
  console.log(JSON.stringify(out, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
