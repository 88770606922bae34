/**
 * Pure parsers of Linux /proc text and the tree arithmetic of a sample. No I/O: the reader
 * (proc-reader.ts) feeds them the text, so they are unit tested on captured files.
 */

/** The fields of `/proc/<pid>/stat` the supervisor uses. CPU times are in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie: holds no memory, counts as gone), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  utime: number;
  stime: number;
  /** CPU of children this process has already waited for (so exited children still count). */
  cutime: number;
  cstime: number;
  /** Ticks since boot when the process started: with the pid, identifies it across reuse. */
  startTime: string;
  /** Resident pages. */
  rssPages: number;
}

/**
 * Pure: parse one `/proc/<pid>/stat` line, or `undefined` when it is not one. The command
 * name may hold spaces and parentheses, so fields are counted after the *last* `)`.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  if (f.length < 22) return undefined;
  const n = (i: number): number => Number(f[i]);
  const stat: ProcStat = {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0] as string,
    ppid: n(1),
    pgid: n(2),
    utime: n(11),
    stime: n(12),
    cutime: n(13),
    cstime: n(14),
    startTime: f[19] as string,
    rssPages: n(21),
  };
  const numbers = [stat.pid, stat.ppid, stat.pgid, stat.utime, stat.stime, stat.rssPages];
  return numbers.every(Number.isFinite) ? stat : undefined;
}

/** Pure: resident pages from `/proc/<pid>/statm` (second field), or `undefined`. */
export function parseStatm(text: string): number | undefined {
  const resident = Number(text.trim().split(/\s+/)[1]);
  return Number.isFinite(resident) ? resident : undefined;
}

/** Pure: `VmRSS` in kB from `/proc/<pid>/status`, or `undefined` (kernel threads, zombies). */
export function parseStatusVmRss(text: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Pure: the live members of a supervised tree: every process in the group `pgid`, plus every
 * descendant of `rootPid` (a child that called setsid left the group but is still ours).
 * Zombies are left out: they hold no memory and can no longer be signalled away.
 */
export function selectTree(stats: readonly ProcStat[], rootPid: number, pgid: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const picked = new Map<number, ProcStat>();
  const queue = stats.filter((s) => s.pgid === pgid || s.pid === rootPid);
  while (queue.length > 0) {
    const s = queue.pop() as ProcStat;
    if (picked.has(s.pid)) continue;
    picked.set(s.pid, s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return [...picked.values()].filter((s) => s.state !== 'Z');
}

/** Pure: total RSS (MB) and CPU (seconds) of a tree, from resident pages and clock ticks. */
export function sumUsage(
  members: readonly { rssPages: number; stat: ProcStat }[],
  pageSize: number,
  clockTicks: number,
): { rssMb: number; cpuSeconds: number } {
  let pages = 0;
  let ticks = 0;
  for (const m of members) {
    pages += m.rssPages;
    ticks += m.stat.utime + m.stat.stime + m.stat.cutime + m.stat.cstime;
  }
  return { rssMb: (pages * pageSize) / (1024 * 1024), cpuSeconds: ticks / clockTicks };
}

/**
 * Pure: what a stop signals: the group (`-pgid`) and each tree member that left it. Refuses a
 * group or pid that would reach the agent itself or everything (`kill(0)` is the caller's own
 * group, `kill(-1)` every process it may signal): a corrupt record or a process not yet in its
 * own group must never turn a cancel into the agent's, or the whole machine's, SIGKILL.
 */
export function signalTargets(
  pgid: number,
  members: readonly Pick<ProcStat, 'pid' | 'pgid'>[],
  self: { pid: number; pgid: number },
): number[] {
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === self.pgid) {
    // A programming error (the caller passed the wrong group), not a failure of the farm.
    throw new Error(`refusing to signal process group ${pgid} (the agent's group is ${self.pgid})`);
  }
  const strays = members
    .filter((m) => m.pgid !== pgid && m.pid > 1 && m.pid !== self.pid)
    .map((m) => m.pid);
  return [-pgid, ...strays];
}
