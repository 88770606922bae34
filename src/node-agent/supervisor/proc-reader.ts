import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { parseStat, parseStatm, selectTree, sumUsage, type ProcStat } from './proc.js';

/** Clock ticks per second and page size of this machine, read once with `getconf`. */
export interface ProcConstants {
  clockTicks: number;
  pageSize: number;
}

let constantsOnce: Promise<ProcConstants> | undefined;

function getconf(name: string, fallback: number): Promise<number> {
  return new Promise((resolve) => {
    execFile('getconf', [name], (err, out) => {
      const n = Number(String(out).trim());
      resolve(err === null && Number.isInteger(n) && n > 0 ? n : fallback);
    });
  });
}

/** `getconf CLK_TCK` and `getconf PAGESIZE`, once per process (100 and 4096 if unavailable). */
export function procConstants(): Promise<ProcConstants> {
  constantsOnce ??= Promise.all([getconf('CLK_TCK', 100), getconf('PAGESIZE', 4096)]).then(
    ([clockTicks, pageSize]) => ({ clockTicks, pageSize }),
  );
  return constantsOnce;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined; // the process ended between readdir and read: expected, not an error
  }
}

/** The parsed stat of one pid, or `undefined` if it does not exist (any more). */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readText(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

/** Every process's stat, by walking /proc. */
export function readAllStats(): Promise<ProcStat[]> {
  // One scan serves every supervisor that asks within SHARE_MS: 200 workers being stopped at
  // once otherwise each walk all of /proc every poll, and the agent drowns in reads.
  const now = performance.now();
  if (shared && now - shared.at < SHARE_MS) return shared.scan;
  shared = { at: now, scan: scanAllStats() };
  return shared.scan;
}

/** How long a /proc scan is reused: well under the supervisors' 25 ms poll. */
const SHARE_MS = 10;
let shared: { at: number; scan: Promise<ProcStat[]> } | undefined;

async function scanAllStats(): Promise<ProcStat[]> {
  const names = await readdir('/proc');
  const texts = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map((n) => readText(`/proc/${n}/stat`)),
  );
  const stats: ProcStat[] = [];
  for (const t of texts) {
    const s = t === undefined ? undefined : parseStat(t);
    if (s) stats.push(s);
  }
  return stats;
}

/** The live members of the tree and their summed usage (RSS from statm, CPU from stat). */
export async function sampleTree(
  rootPid: number,
  pgid: number,
  k: ProcConstants,
): Promise<{ members: ProcStat[]; rssMb: number; cpuSeconds: number }> {
  const members = selectTree(await readAllStats(), rootPid, pgid);
  const withRss = await Promise.all(
    members.map(async (stat) => {
      const statm = await readText(`/proc/${stat.pid}/statm`);
      return {
        stat,
        rssPages: (statm === undefined ? undefined : parseStatm(statm)) ?? stat.rssPages,
      };
    }),
  );
  return { members, ...sumUsage(withRss, k.pageSize, k.clockTicks) };
}

function isEsrch(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ESRCH';
}

/** Send `signal` to the group and to tree members that left it; a vanished target is fine. */
export function signalTree(
  pgid: number,
  members: readonly ProcStat[],
  signal: NodeJS.Signals,
): void {
  const targets: number[] = [-pgid, ...members.filter((m) => m.pgid !== pgid).map((m) => m.pid)];
  for (const target of targets) {
    try {
      process.kill(target, signal);
    } catch (err) {
      if (!isEsrch(err)) throw new Error(`kill(${target}, ${signal}) failed`, { cause: err });
    }
  }
}

/**
 * Whether any live (non-zombie) process of the tree is left. `kill(-pgid, 0)` answers ESRCH
 * cheaply when the group is empty; otherwise /proc tells zombies (gone) from the living.
 */
export async function treeMembers(rootPid: number, pgid: number): Promise<ProcStat[]> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if (isEsrch(err)) return [];
    throw new Error(`kill(-${pgid}, 0) failed`, { cause: err });
  }
  return selectTree(await readAllStats(), rootPid, pgid);
}
