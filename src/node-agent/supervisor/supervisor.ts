import { statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { StringDecoder } from 'node:string_decoder';
import { ErrorCodes, SchedulerError, signalFromExitCode } from '../../events/index.js';
import { classifyExit, outcomeMessage } from './exit.js';
import { DEFAULT_LOG_CAP_BYTES, readLog, trimLogFile } from './logs.js';
import {
  groupGone,
  readCmdline,
  readStat,
  sampleTree,
  signalTree,
  treeMembers,
  type ProcConstants,
} from './proc-reader.js';
import type { ProcStat } from './proc.js';
import { parseReportChunk } from './report.js';
import type {
  DroverAction,
  KillReason,
  ProcessOutcome,
  Supervised,
  SupervisorHooks,
  SupervisorOptions,
} from './types.js';
import { isWrapperExecError, wrapperExecErrorLine } from './wrapper.js';

/** How often a stop checks whether the group is gone: one `kill(-pgid, 0)`, no /proc read. */
const POLL_MS = 10;
/**
 * After this long a group that still exists may hold only zombies (which nobody reaps under an
 * init that does not): from then on /proc decides, at most every SCAN_POLL_MS.
 */
const ZOMBIE_CHECK_AFTER_MS = 100;
const SCAN_POLL_MS = 25;
/**
 * While its own child's leader lives, a stop waits for the leader's exit to be reported instead
 * of polling the group (the group cannot be empty while its leader is in it). It looks again this
 * often, in case the watch turned to polling meanwhile (the fork server died).
 */
const LEADER_WAIT_SLICE_MS = 250;
/** How old a /proc scan may be when a stop looks for members that left the group. */
const STOP_SCAN_MAX_AGE_MS = 250;
const DEFAULT_GRACE_MS = 5000;
/**
 * How long a stop waits for the wrapper's command to start (it takes a millisecond or so; a
 * loaded machine may stall it much longer), and how often it looks.
 */
const FORK_WAIT_MS = 1000;
const FORK_POLL_MS = 5;

/** How the leader's end is learnt: from the ChildProcess (own child) or by polling /proc. */
export type ExitWatch = 'child' | 'poll';

/** Everything a supervisor needs about one started process. @internal */
export interface SupervisorParams {
  workerId: string;
  pid: number;
  pgid: number;
  startTime: string;
  runDir: string;
  memLimitMb: number;
  timeoutS?: number;
  startedAt: number;
  watch: ExitWatch;
  k: ProcConstants;
  hooks: SupervisorHooks;
  opts: SupervisorOptions;
}

/** The exit status of the wrapper, as the `status` file recorded it; `undefined` if none. */
export async function readExitStatus(runDir: string): Promise<number | undefined> {
  const text = await readFile(join(runDir, 'status'), 'utf8').catch(() => undefined);
  const n = Number(text?.trim());
  return text === undefined || text.trim() === '' || !Number.isInteger(n) ? undefined : n;
}

/**
 * What a file holds from `offset` on (empty when nothing was added). Asked on every sampling tick
 * of every worker, and most ticks find nothing new: a synchronous `stat` of the file (in the
 * agent's run dir: microseconds) says so, before a file handle is opened (four thread-pool round
 * trips and a handle to finalise; 100 workers' ticks made them the largest part of a busy
 * agent's thread in a mass cancel, issue 22).
 */
async function readFrom(path: string, offset: number): Promise<Buffer> {
  const known = statSync(path, { throwIfNoEntry: false });
  if (known === undefined || known.size <= offset) return Buffer.alloc(0);
  const fh = await open(path, 'r').catch(() => undefined);
  if (fh === undefined) return Buffer.alloc(0);
  try {
    const { size } = await fh.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Supervises one process group: samples its tree, enforces memory and time limits, tails
 * the report file, trims logs, stops it on request and settles `done` once the group is gone.
 */
class SupervisedImpl implements Supervised {
  readonly workerId: string;
  readonly pid: number;
  readonly pgid: number;
  readonly startTime: string;
  readonly done: Promise<ProcessOutcome>;
  private settle!: (o: ProcessOutcome) => void;
  private action: DroverAction | undefined;
  private peakRssMb = 0;
  private cpuSeconds = 0;
  private reportOffset = 0;
  private reportCarry = '';
  private readonly decoder = new StringDecoder('utf8');
  private result: { value: unknown } | undefined;
  private reportsRead: Promise<void> = Promise.resolve();
  private ticking = false;
  private exiting = false;
  private stopping: Promise<void> | undefined;
  /** Wakes stops waiting for the leader's exit (see `untilLeaderGone`). */
  private readonly leaderWaiters = new Set<() => void>();
  private sampler: NodeJS.Timeout;
  private readonly sampleMs: number;
  private readonly limiter: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(private readonly p: SupervisorParams) {
    this.workerId = p.workerId;
    this.pid = p.pid;
    this.pgid = p.pgid;
    this.startTime = p.startTime;
    this.clock = p.opts.clock ?? Date.now;
    this.done = new Promise((resolve) => (this.settle = resolve));
    // Ticks aligned to the wall clock: every supervisor of the agent samples at the same moments
    // and they share one /proc scan (200 workers otherwise scan 200 times a second).
    const every = (this.sampleMs = p.opts.sampleMs ?? 1000);
    this.sampler = setTimeout(
      () => {
        this.sampler = setInterval(() => void this.tick(), every);
        void this.tick();
      },
      every - (Date.now() % every),
    );
    if (p.timeoutS !== undefined) {
      const left = p.timeoutS * 1000 - (this.clock() - p.startedAt);
      this.limiter = setTimeout(() => void this.stop('time', DEFAULT_GRACE_MS), Math.max(0, left));
    }
  }

  kill(reason: KillReason, opts: { graceMs?: number } = {}): Promise<ProcessOutcome> {
    void this.stop(reason, opts.graceMs ?? DEFAULT_GRACE_MS);
    return this.done;
  }

  /** The leader (the wrapper) ended: settle once the rest of the group is gone. @internal */
  async leaderExited(exitCode: number | null, signal: string | null): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    for (const wake of this.leaderWaiters) wake();
    clearInterval(this.sampler);
    clearTimeout(this.limiter);
    await this.tailReports(true).catch((err: unknown) => this.fail(err));
    // A leftover of a process that ended on its own is a leak: the attempt is over. During a
    // stop, the stop owns the grace and the SIGKILL.
    if (this.action === undefined) await this.killNow().catch((err: unknown) => this.fail(err));
    await this.stopping;
    await this.waitEmpty(Infinity);
    this.settle(await this.outcome(exitCode, signal));
  }

  /**
   * The fork server that was the leader's parent died, so its exit will not be reported: from
   * now on /proc and the status file tell, as for a process re-adopted after a restart.
   * @internal
   */
  parentLost(): void {
    this.p.watch = 'poll';
    void this.checkLeader().catch((err: unknown) => this.fail(err));
  }

  private async stop(action: DroverAction, graceMs: number): Promise<void> {
    if (this.exiting) return this.stopping; // ended on its own first: its cause stands
    this.action ??= action;
    this.stopping ??= this.terminate(graceMs).catch((err: unknown) => this.fail(err));
    return this.stopping;
  }

  private async terminate(graceMs: number): Promise<void> {
    // The group is signalled as a whole; the scan only finds members that left it, so one a
    // little old does (200 stops at once share it, instead of blocking on 200 fresh scans).
    // The stops asked for in this turn of the event loop (a batch of kill messages) all come
    // first: they then share one scan, instead of each scanning as its message is read.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let members = await treeMembers(this.pid, this.pgid, STOP_SCAN_MAX_AGE_MS);
    if (!this.commandStarted(members)) members = await this.untilCommandStarted();
    signalTree(this.pgid, members, 'SIGTERM');
    if (!(await this.waitEmpty(graceMs))) await this.killNow();
    await this.waitEmpty(Infinity);
  }

  /**
   * Whether the command has started: the wrapper has forked it and it has exec'd (its name, or
   * for a shell its argv, is no longer the wrapper's). Until then a TERM to the group is lost:
   * the wrapper's no-op trap swallows it, and so does the forked shell that is about to exec the
   * command (it still runs the wrapper's handlers); the command would run on until the grace was
   * over and die by SIGKILL.
   */
  private commandStarted(members: readonly ProcStat[]): boolean {
    const child = members.find((m) => m.ppid === this.pid);
    if (child === undefined) return false;
    const wrapper = members.find((m) => m.pid === this.pid);
    if (wrapper === undefined || child.comm !== wrapper.comm) return true;
    // A command that is a shell itself: until its exec the child still has the wrapper's argv.
    const argv = readCmdline(child.pid);
    return argv === undefined || argv !== readCmdline(this.pid);
  }

  /** Fresh scans until the command has started or the group is gone (at most FORK_WAIT_MS). */
  private async untilCommandStarted(): Promise<ProcStat[]> {
    const start = performance.now();
    for (;;) {
      const members = await treeMembers(this.pid, this.pgid, FORK_POLL_MS);
      if (this.commandStarted(members) || members.length === 0) return members;
      if (performance.now() - start >= FORK_WAIT_MS) return members;
      await sleep(FORK_POLL_MS);
    }
  }

  private async killNow(): Promise<void> {
    signalTree(this.pgid, await treeMembers(this.pid, this.pgid), 'SIGKILL');
  }

  /**
   * Wait until no live process of the tree is left, or `ms` passed; true when empty. The grace
   * runs on the monotonic clock, not the injected one (which may be a frozen test clock).
   * While the leader of an own child lives, its reported exit is awaited (see
   * `untilLeaderGone`); from then on the group is polled, for members that outlive it.
   */
  private async waitEmpty(ms: number): Promise<boolean> {
    const start = performance.now();
    if (!(await this.untilLeaderGone(ms))) return false;
    const polled = performance.now();
    for (;;) {
      const waited = performance.now() - start;
      // The zombie check counts from the leader's end: until then the group was not empty.
      const scan = performance.now() - polled >= ZOMBIE_CHECK_AFTER_MS;
      const empty = () => treeMembers(this.pid, this.pgid, SCAN_POLL_MS).then((m) => !m.length);
      if (groupGone(this.pgid) || (scan && (await empty()))) {
        if (this.p.watch === 'poll')
          void this.checkLeader().catch((err: unknown) => this.fail(err));
        return true;
      }
      if (waited >= ms) return false;
      await sleep(scan ? SCAN_POLL_MS : POLL_MS);
    }
  }

  /**
   * While the leader of a process the agent started lives (its exit is reported: the fork
   * server's line, or the ChildProcess's event), wait for that report, at most `ms`; true once
   * the leader is gone or its end is watched by polling. Polling the group meanwhile cost every
   * stopping supervisor a syscall every 10 ms and, after 100 ms, a walk of /proc: with 100
   * processes stopping at once under load, the agent's thread spent the cancel walking /proc
   * while the processes waited for a CPU to exit on (issue 22).
   */
  private async untilLeaderGone(ms: number): Promise<boolean> {
    const start = performance.now();
    while (this.p.watch === 'child' && !this.exiting) {
      const left = ms - (performance.now() - start);
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.leaderWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, LEADER_WAIT_SLICE_MS));
        this.leaderWaiters.add(wake);
      });
    }
    return true;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.exiting) return;
    this.ticking = true;
    try {
      if (this.p.watch === 'poll' && (await this.checkLeader())) return;
      // A group being stopped is not sampled any more: it ends within its grace, its end carries
      // the figures sampled so far, and a sample queued by then is dropped (workers.ts). In a
      // mass cancel every stopping supervisor otherwise still walked its tree each second, on
      // the thread that takes the kill messages and reports the ends (issue 22).
      if (this.stopping) {
        await this.tailReports(false);
        await this.trimLogs();
        return;
      }
      const s = await sampleTree(this.pid, this.pgid, this.p.k, this.sampleMs / 4);
      this.peakRssMb = Math.max(this.peakRssMb, s.rssMb);
      this.cpuSeconds = Math.max(this.cpuSeconds, s.cpuSeconds);
      const at = this.clock();
      const { rssMb } = s;
      this.p.hooks.onSample?.({
        rssMb,
        peakRssMb: this.peakRssMb,
        cpuSeconds: this.cpuSeconds,
        at,
      });
      if (s.rssMb > this.p.memLimitMb && this.action === undefined) {
        this.action = 'memory'; // this sample is the last one: the peak already exceeds the limit
        this.stopping = this.killNow()
          .then(() => this.waitEmpty(Infinity))
          .then(
            () => undefined,
            (err: unknown) => this.fail(err),
          );
      }
      await this.tailReports(false);
      await this.trimLogs();
    } catch (err) {
      this.fail(err);
    } finally {
      this.ticking = false;
    }
  }

  /** Poll mode: whether the leader is gone (reaped, zombie or its pid reused); settles if so. */
  private async checkLeader(): Promise<boolean> {
    const s = await readStat(this.pid);
    if (s !== undefined && s.state !== 'Z' && s.startTime === this.startTime) return false;
    const code = await readExitStatus(this.p.runDir);
    void this.leaderExited(code ?? null, null).catch((err: unknown) => this.fail(err));
    return true;
  }

  /**
   * One read of the report file at a time: a tick's read still running when the leader exits
   * would otherwise read from the same offset as the final one and deliver its lines twice.
   */
  private tailReports(final: boolean): Promise<void> {
    const next = this.reportsRead.then(() => this.readReports(final));
    this.reportsRead = next.catch(() => undefined);
    return next;
  }

  private async readReports(final: boolean): Promise<void> {
    const chunk = await readFrom(join(this.p.runDir, 'report'), this.reportOffset);
    this.reportOffset += chunk.length;
    const text = this.decoder.write(chunk) + (final ? this.decoder.end() : '');
    const parsed = parseReportChunk(this.reportCarry, text, final);
    this.reportCarry = parsed.carry;
    for (const e of parsed.errors) this.p.hooks.onProtocolError?.(e);
    for (const r of parsed.reports) {
      if ('result' in r) this.result = { value: r.result };
      this.p.hooks.onReport?.(r);
    }
  }

  private async trimLogs(): Promise<void> {
    const cap = this.p.opts.logCapBytes ?? DEFAULT_LOG_CAP_BYTES;
    await trimLogFile(join(this.p.runDir, 'stdout'), cap);
    await trimLogFile(join(this.p.runDir, 'stderr'), cap);
  }

  private async outcome(
    exitCode: number | null,
    wrapperSignal: string | null,
  ): Promise<ProcessOutcome> {
    const signal = wrapperSignal ?? signalFromExitCode(exitCode) ?? null;
    const stderr =
      exitCode === 126 || exitCode === 127
        ? await readLog(this.p.runDir, 'stderr', { tailLines: 5 })
        : '';
    const launchFailed = isWrapperExecError(exitCode, stderr);
    const facts = { exitCode, signal, action: this.action, launchFailed };
    const cause = classifyExit(facts);
    const o: ProcessOutcome = {
      exitCode,
      signal,
      cause,
      peakRssMb: Math.round(this.peakRssMb * 10) / 10,
      cpuSeconds: Math.round(this.cpuSeconds * 100) / 100,
      wallSeconds: Math.max(0, (this.clock() - this.p.startedAt) / 1000),
      message: outcomeMessage({
        ...facts,
        ...this.limits(),
        launchError: wrapperExecErrorLine(stderr),
      }),
    };
    if (cause === 'Succeeded' && this.result !== undefined) o.result = this.result.value;
    return o;
  }

  private limits(): { memLimitMb: number; peakRssMb: number; timeoutS?: number } {
    const l = { memLimitMb: this.p.memLimitMb, peakRssMb: this.peakRssMb };
    return this.p.timeoutS === undefined ? l : { ...l, timeoutS: this.p.timeoutS };
  }

  private fail(err: unknown): void {
    this.p.hooks.onError?.(
      err instanceof Error
        ? err
        : new SchedulerError(ErrorCodes.Internal, String(err), { cause: err }),
    );
  }
}

/** Start supervising a started process. @internal */
export function supervise(p: SupervisorParams): SupervisedImpl {
  return new SupervisedImpl(p);
}
export type { SupervisedImpl };
