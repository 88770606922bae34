import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import {
  parseStat,
  parseStatm,
  selectTree,
  signalTargets,
  sumUsage,
  type ProcStat,
} from './proc.js';
import { ErrorCodes, SchedulerError } from '../../events/index.js';

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

/**
 * One small /proc file, read synchronously into a reused buffer. /proc files are generated in
 * memory and answer in microseconds; the async `readFile` costs four thread-pool round trips
 * each, and with 200 workers stopping at once a scan of 600 processes queued behind the pool for
 * ~400 ms, which was most of a cancel's time. A sync scan of 600 processes takes ~5 ms.
 */
function readText(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.toString('latin1', 0, n);
  } catch {
    return undefined; // the process ended between readdir and read: expected, not an error
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** stat and statm lines are well under 1 KiB (a comm is at most 15 bytes). */
const buffer = Buffer.alloc(4096);

/** A process's argv as /proc has it (NUL-separated, at most 4 KiB), or `undefined` if gone. */
export function readCmdline(pid: number): string | undefined {
  return readText(`/proc/${pid}/cmdline`);
}

/** The parsed stat of one pid, or `undefined` if it does not exist (any more). */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = readText(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

/**
 * Every process's stat, by walking /proc, or the last walk if it is at most `maxAgeMs` old: one
 * scan serves every supervisor that asks meanwhile (200 workers sampled or stopped at once
 * otherwise each walk all of /proc).
 */
export function readAllStats(maxAgeMs = 10): Promise<ProcStat[]> {
  const now = performance.now();
  if (shared && now - shared.at <= maxAgeMs) return shared.scan;
  shared = { at: now, scan: Promise.resolve(scanAllStats()) };
  return shared.scan;
}

let shared: { at: number; scan: Promise<ProcStat[]> } | undefined;
let walks = 0;

/** How many walks of /proc this process made so far (tests count a stop's). @internal */
export function procWalks(): number {
  return walks;
}

function scanAllStats(): ProcStat[] {
  walks++;
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid
    const t = readText(`/proc/${name}/stat`);
    const s = t === undefined ? undefined : parseStat(t);
    if (s) stats.push(s);
  }
  return stats;
}

/**
 * The live members of the tree and their summed usage (RSS from statm, CPU from stat). The root
 * is Drover's `sh` wrapper (~1.5 MB): its memory is not the job's and is left out, so a job's
 * peak and its memory limit count the command's tree alone. Its CPU stays: it holds what the
 * command used once the command has ended and been reaped.
 */
export async function sampleTree(
  rootPid: number,
  pgid: number,
  k: ProcConstants,
  maxAgeMs?: number,
): Promise<{ members: ProcStat[]; rssMb: number; cpuSeconds: number }> {
  const members = selectTree(await readAllStats(maxAgeMs), rootPid, pgid);
  const withRss = members.map((stat) => {
    if (stat.pid === rootPid) return { stat, rssPages: 0 };
    const statm = readText(`/proc/${stat.pid}/statm`);
    return {
      stat,
      rssPages: (statm === undefined ? undefined : parseStatm(statm)) ?? stat.rssPages,
    };
  });
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
  for (const target of signalTargets(pgid, members, self())) {
    try {
      process.kill(target, signal);
    } catch (err) {
      if (!isEsrch(err))
        throw new SchedulerError(ErrorCodes.Internal, `kill(${target}, ${signal}) failed`, {
          cause: err,
        });
    }
  }
}

let selfOnce: { pid: number; pgid: number } | undefined;
/** This process and its group, read once (a process does not change its own group here). */
function self(): { pid: number; pgid: number } {
  selfOnce ??= {
    pid: process.pid,
    pgid: parseStat(readFileSync('/proc/self/stat', 'utf8'))?.pgid ?? process.pid,
  };
  return selfOnce;
}

/** Whether the process group is gone: no member left, not even a zombie (one syscall). */
export function groupGone(pgid: number): boolean {
  // A programming error (no group was ever recorded), not a failure of the farm.
  if (!(pgid > 1)) throw new Error(`no process group ${pgid} to wait for`);
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (err) {
    if (isEsrch(err)) return true;
    throw new SchedulerError(ErrorCodes.Internal, `kill(-${pgid}, 0) failed`, { cause: err });
  }
}

/**
 * Whether any live (non-zombie) process of the tree is left. `kill(-pgid, 0)` answers ESRCH
 * cheaply when the group is empty; otherwise /proc tells zombies (gone) from the living.
 */
export async function treeMembers(
  rootPid: number,
  pgid: number,
  maxAgeMs?: number,
): Promise<ProcStat[]> {
  if (groupGone(pgid)) return [];
  return selectTree(await readAllStats(maxAgeMs), rootPid, pgid);
}
