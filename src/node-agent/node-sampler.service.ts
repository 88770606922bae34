import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import type { Logger } from 'pino';
import {
  parseMeminfo,
  swapRates,
  vmstatSwap,
  type NodeStats,
  type VmstatSwap,
} from './node-stats.js';

/** What the sampler reads; the default reads `/proc`, tests pass a recorded sequence. */
export interface NodeSources {
  vmstat(): Promise<string>;
  meminfo(): Promise<string>;
  load(): readonly [number, number, number];
}

/** The machine's own `/proc` and load averages. */
export const procSources: NodeSources = {
  vmstat: () => readFile('/proc/vmstat', 'utf8'),
  meminfo: () => readFile('/proc/meminfo', 'utf8'),
  load: () => loadavg() as [number, number, number],
};

export interface NodeSamplerOptions {
  readonly sources?: NodeSources;
  readonly intervalMs?: number;
  readonly clock?: () => number;
  readonly logger: Logger;
  readonly onSample: (stats: NodeStats) => void;
}

/** A running sampler: `sample()` takes one reading now (tests), `stop()` ends the timer. */
export interface NodeSampler {
  sample(): Promise<NodeStats>;
  stop(): void;
}

/**
 * Sample the node every `intervalMs` (default 5 s): memory, load, and swap-in/out rates from
 * the difference of two `/proc/vmstat` readings. The first reading gives rates of 0 (nothing to
 * compare with yet). A failed read is logged and skipped: a machine without `/proc` still runs
 * jobs.
 */
export function startNodeSampler(opts: NodeSamplerOptions): NodeSampler {
  const sources = opts.sources ?? procSources;
  const clock = opts.clock ?? Date.now;
  let prev: { at: number; swap: VmstatSwap } | undefined;
  const sample = async (): Promise<NodeStats> => {
    const at = clock(); // when the reading was asked for: a slow read does not stretch the rate
    const [vm, mem] = await Promise.all([sources.vmstat(), sources.meminfo()]);
    const swap = vmstatSwap(vm);
    const rates =
      prev && swap
        ? swapRates(prev.swap, swap, (at - prev.at) / 1000)
        : { swapInPerSecond: 0, swapOutPerSecond: 0 };
    if (swap) prev = { at, swap };
    const memory = parseMeminfo(mem);
    const stats: NodeStats = { ...rates, load: sources.load(), ...(memory && { memory }) };
    opts.onSample(stats);
    return stats;
  };
  const tick = () =>
    void sample().catch((err: unknown) => opts.logger.warn({ err }, 'node sample failed'));
  tick();
  const timer = setInterval(tick, opts.intervalMs ?? 5000);
  timer.unref();
  return { sample, stop: () => clearInterval(timer) };
}
