import type { NodeReading } from '../events/index.js';

/**
 * The node's memory and swap as the agent reports them: parsed from `/proc/vmstat` and
 * `/proc/meminfo` text, with swap activity as rates between two readings. Pure: the text comes
 * in (from the sampler, or from a recorded sequence in tests), numbers come out.
 */

/** The cumulative swap counters of `/proc/vmstat` (pages since boot). */
export interface VmstatSwap {
  readonly pswpin: number;
  readonly pswpout: number;
}

/** Memory figures of `/proc/meminfo`, in bytes. */
export interface Meminfo {
  readonly totalBytes: number;
  readonly availableBytes: number;
  readonly swapTotalBytes: number;
  readonly swapFreeBytes: number;
}

/** One sample of the node: memory, swap rates (pages per second), load averages. */
export interface NodeStats {
  readonly memory?: Meminfo;
  readonly swapInPerSecond: number;
  readonly swapOutPerSecond: number;
  readonly load: readonly [number, number, number];
}

/**
 * `/proc/vmstat` lines (`name value`) as a map; malformed lines are skipped (the kernel adds
 * fields between versions, and a truncated read must not throw). Pure.
 */
export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The swap counters of a vmstat text; undefined when absent (no swap support). Pure. */
export function vmstatSwap(text: string): VmstatSwap | undefined {
  const v = parseVmstat(text);
  const pswpin = v.get('pswpin');
  const pswpout = v.get('pswpout');
  return pswpin === undefined || pswpout === undefined ? undefined : { pswpin, pswpout };
}

/** `/proc/meminfo` (`Name: value kB`) as bytes; undefined without MemTotal. Pure. */
export function parseMeminfo(text: string): Meminfo | undefined {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  const total = kb.get('MemTotal');
  if (total === undefined) return undefined;
  return {
    totalBytes: total,
    availableBytes: kb.get('MemAvailable') ?? kb.get('MemFree') ?? 0,
    swapTotalBytes: kb.get('SwapTotal') ?? 0,
    swapFreeBytes: kb.get('SwapFree') ?? 0,
  };
}

/**
 * Pages swapped in and out per second between two readings `dtS` seconds apart. A counter that
 * went backwards (a reboot between readings) gives 0, not a negative rate. Pure.
 */
export function swapRates(
  prev: VmstatSwap,
  cur: VmstatSwap,
  dtS: number,
): { swapInPerSecond: number; swapOutPerSecond: number } {
  if (!(dtS > 0)) return { swapInPerSecond: 0, swapOutPerSecond: 0 };
  const rate = (a: number, b: number) => (b >= a ? (b - a) / dtS : 0);
  return {
    swapInPerSecond: rate(prev.pswpin, cur.pswpin),
    swapOutPerSecond: rate(prev.pswpout, cur.pswpout),
  };
}

/**
 * A sample as the heartbeat carries it (`NodeReading`): swap rates, memory in bytes, when. Pure.
 */
export function readingOf(stats: NodeStats, at: number): NodeReading {
  const m = stats.memory;
  return {
    swapInPerSecond: stats.swapInPerSecond,
    swapOutPerSecond: stats.swapOutPerSecond,
    ...(m && {
      memTotalBytes: m.totalBytes,
      memAvailableBytes: m.availableBytes,
      swapUsedBytes: Math.max(0, m.swapTotalBytes - m.swapFreeBytes),
    }),
    at,
  };
}
