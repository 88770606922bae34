import type { FailureCause } from '../../events/index.js';

/** What the agent asks the supervisor to run: one attempt of one chunk. */
export interface LaunchSpec {
  /** The worker id, `<job>:<chunk>:<attempt>`, e.g. `j12:0:1`. */
  workerId: string;
  /** argv; `command[0]` is resolved through the effective PATH. */
  command: readonly string[];
  cwd?: string;
  /** DROVER_* variables plus the job's env, already merged; merged over `process.env` here. */
  env: Record<string, string>;
  memLimitMb: number;
  timeoutS?: number;
  /** A directory owned by this worker: `stdout`, `stderr`, `report` and `status` live here. */
  runDir: string;
}

/** One sampling tick over the whole process tree. */
export interface UsageSample {
  rssMb: number;
  peakRssMb: number;
  cpuSeconds: number;
  at: number;
}

/** One line of the report protocol, as parsed. */
export type Report =
  { progress?: number; checkpoint?: string; message?: string } | { result: unknown };

/** A report line that could not be understood; the process keeps running. */
export interface ProtocolError {
  line: string;
  reason: string;
}

/** How an attempt ended: exactly one cause (POLICY.md "Failure causes"). */
export interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  cause: FailureCause;
  peakRssMb: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** Human words, e.g. `exit code 127: command not found`. */
  message: string;
  /** The last `{result}` reported; only when `cause` is `Succeeded`. */
  result?: unknown;
}

/** Why the agent asks a process to stop. */
export type KillReason = 'cancel' | 'terminate' | 'hung';

/** What Drover itself did to a process; `undefined` when it ended on its own. */
export type DroverAction = 'memory' | 'time' | KillReason;

/** A running (or just ended) attempt under supervision. */
export interface Supervised {
  readonly workerId: string;
  readonly pid: number;
  readonly pgid: number;
  /** `/proc/<pid>/stat` starttime (clock ticks since boot): detects pid reuse on re-adoption. */
  readonly startTime: string;
  /** Resolves once the process has ended and its whole group is gone. Never rejects. */
  readonly done: Promise<ProcessOutcome>;
  /**
   * SIGTERM to the group, up to `graceMs` (default 5000) for it to empty, then SIGKILL.
   * Resolves only when no process of the group is left.
   */
  kill(reason: KillReason, opts?: { graceMs?: number }): Promise<ProcessOutcome>;
}

export interface SupervisorHooks {
  onSample?(s: UsageSample): void;
  onReport?(r: Report): void;
  onProtocolError?(e: ProtocolError): void;
  /** A sampling tick failed (e.g. /proc unreadable); supervision goes on. */
  onError?(err: Error): void;
}

export interface SupervisorOptions {
  /** Sampling period: usage, limits, report tailing and log trimming (default 1000 ms). */
  sampleMs?: number;
  /** Wall clock in ms (default `Date.now`). */
  clock?: () => number;
  /** Cap per log file in bytes (default 8 MiB); above it the oldest half is dropped. */
  logCapBytes?: number;
  /**
   * Who forks the attempt: the agent's small perl fork server (default: ~half the CPU per
   * launch, off the agent's thread) or Node's `spawn` (used anyway when perl is missing).
   */
  launcher?: 'fork-server' | 'spawn';
}

/** What the agent persists to re-adopt a process after its own restart. */
export interface AdoptionRecord {
  workerId: string;
  pid: number;
  startTime: string;
  runDir: string;
  memLimitMb: number;
  timeoutS?: number;
  /** Wall-clock ms when the attempt started: the time limit keeps counting from it. */
  startedAt: number;
}
