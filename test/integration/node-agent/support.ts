import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LaunchSpec } from '../../../src/node-agent/supervisor/index.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/processes');

/** A temp root for run dirs; `cleanup` removes it. */
export async function tempRoot(): Promise<{
  dir: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const root = await mkdtemp(join(tmpdir(), 'drover-sup-'));
  return {
    dir: (name) => join(root, name),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A spec with defaults: a generous memory limit, no time limit. */
export function spec(
  runDir: string,
  command: string[],
  over: Partial<LaunchSpec> = {},
): LaunchSpec {
  return { workerId: 'j1:0:1', command, env: {}, memLimitMb: 1024, runDir, ...over };
}

/** The live (non-zombie) processes whose process group is `pgid`, read straight from /proc. */
export async function liveInGroup(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}

/** Poll `check` every 20 ms until it holds (tests' own timeouts bound the wait). */
export async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}
