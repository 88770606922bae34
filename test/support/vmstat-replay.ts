import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSources } from '../../src/node-agent/index.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/vmstat');

/** A node's `/proc` played back to its agent's sampler; `calm()` stops the swapping. */
export interface VmstatReplay {
  readonly sources: NodeSources;
  calm(): void;
  /** How many vmstat reads the sampler made so far. */
  reads(): number;
}

/**
 * A recorded /proc/vmstat sequence played to the agent's sampler: while `storming`, each read
 * is the next recorded reading (the recording loops, its counters carried on so they only grow);
 * once calm, the last reading is read again and again (no page moves: a rate of 0).
 */
export function playVmstat(frames: readonly string[], meminfo: string): VmstatReplay {
  const counter = (text: string, name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const span = (name: string) => counter(last, name) - counter(first, name) + 1000;
  let i = 0;
  let current = first;
  let storming = true;
  const sources: NodeSources = {
    vmstat: async () => {
      if (storming) {
        const cycle = Math.floor(i / frames.length);
        const frame = frames[i++ % frames.length]!;
        current = frame.replace(
          /^(pswpin|pswpout) (\d+)$/gm,
          (_, name: string, n: string) => `${name} ${Number(n) + cycle * span(name)}`,
        );
      }
      return current;
    },
    meminfo: async () => meminfo,
    load: () => [0.5, 0.4, 0.3],
  };
  return { sources, calm: () => (storming = false), reads: () => i };
}

/**
 * The recorded swap storm (`test/fixtures/vmstat/swap-storm.*`): a node swapping thousands of
 * pages a second (`storm`) and, on the same meminfo, a node that does not swap (`quiet`).
 */
export async function swapStorm(): Promise<{
  storm: VmstatReplay;
  quiet: VmstatReplay;
  meminfo: string;
}> {
  const frames = (await readFile(join(FIXTURES, 'swap-storm.vmstat'), 'utf8')).split('---\n');
  const meminfo = await readFile(join(FIXTURES, 'swap-storm.meminfo'), 'utf8');
  const quiet = playVmstat([frames[0]!], meminfo);
  quiet.calm();
  return { storm: playVmstat(frames, meminfo), quiet, meminfo };
}
