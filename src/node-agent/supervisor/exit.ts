import { constants } from 'node:os';
import type { FailureCause } from '../../events/index.js';
import type { DroverAction } from './types.js';

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);
/** Highest real-time signal on Linux: 128+n above it is an ordinary exit code. */
const MAX_SIGNAL = 64;

const CODE_MEANINGS: Record<number, string> = {
  1: 'general error',
  2: 'misuse of shell builtin or bad arguments',
  126: 'command found but not executable',
  127: 'command not found',
  128: 'invalid argument to exit',
};

/** Pure: the signal's name (`SIGKILL`) or `signal n` when the platform has none for it. */
export function signalName(n: number): string {
  return SIGNAL_NAMES.get(n) ?? `signal ${n}`;
}

/**
 * Pure: the signal a shell exit status stands for. Through the `sh` wrapper a child killed by
 * signal n shows as exit status 128+n; `undefined` when the code is an ordinary exit code.
 */
export function signalFromExitCode(exitCode: number | null): string | undefined {
  if (exitCode === null || exitCode <= 128 || exitCode > 128 + MAX_SIGNAL) return undefined;
  return signalName(exitCode - 128);
}

/**
 * Pure: what an exit code or signal means, in words for `drover explain` (POLICY.md: 1
 * general, 2 misuse, 126 not executable, 127 not found, 128+s killed by signal s).
 * @example exitMeaning(137, null) // 'exit code 137: killed by signal 9 (SIGKILL)'
 */
export function exitMeaning(exitCode: number | null, signal: string | null): string {
  if (signal !== null) {
    const n = constants.signals[signal as keyof typeof constants.signals];
    return n === undefined ? `killed by ${signal}` : `killed by signal ${n} (${signal})`;
  }
  if (exitCode === null) return 'ended without an exit status (the wrapper was killed by a signal)';
  if (exitCode === 0) return 'exit code 0: success';
  const viaSignal = signalFromExitCode(exitCode);
  if (viaSignal !== undefined) {
    return `exit code ${exitCode}: killed by signal ${exitCode - 128} (${viaSignal})`;
  }
  return `exit code ${exitCode}: ${CODE_MEANINGS[exitCode] ?? 'application-defined failure'}`;
}

/** What `classifyExit` needs: how the process ended and what Drover did to it. */
export interface ExitFacts {
  exitCode: number | null;
  signal: string | null;
  /** What Drover did to the process, if anything (the first action wins). */
  action?: DroverAction;
  /** The exec itself failed: missing cwd, command not found or not executable. */
  launchFailed?: boolean;
}

/**
 * Pure: the POLICY.md failure cause of an ended attempt. What Drover did comes first: a
 * process that exits during the grace after a cancel is still `Cancelled`.
 *
 * - `terminate` is the farm stopping a healthy process (drain, room for others): `Preempted`,
 *   so it is requeued with its checkpoint and does not consume the user's retries; the agent
 *   may substitute a more specific farm cause it knows (`NodeLost`, `AgentRestarted`).
 * - `hung` (the agent saw no progress for too long) is the process overrunning the time it
 *   was allowed without progress: `TimeLimit`, which counts against retries as the job allows.
 *   `Signaled` would be wrong (POLICY: signals *not* sent by Drover) and `ExitNonZero` has no
 *   exit code to explain.
 */
export function classifyExit(facts: ExitFacts): FailureCause {
  if (facts.launchFailed === true) return 'LaunchFailed';
  switch (facts.action) {
    case 'memory':
      return 'OutOfMemory';
    case 'time':
    case 'hung':
      return 'TimeLimit';
    case 'cancel':
      return 'Cancelled';
    case 'terminate':
      return 'Preempted';
    case undefined:
      break;
    default: {
      const _exhaustive: never = facts.action;
      return _exhaustive;
    }
  }
  if (facts.signal !== null || facts.exitCode === null) return 'Signaled';
  if (facts.exitCode === 0) return 'Succeeded';
  if (signalFromExitCode(facts.exitCode) !== undefined) return 'Signaled';
  return 'ExitNonZero';
}

const ACTION_WORDS: Record<DroverAction, string> = {
  memory: 'killed: over memory limit',
  time: 'killed: time limit reached',
  cancel: 'stopped: cancelled',
  terminate: 'stopped: terminated by the agent',
  hung: 'killed: hung (no progress)',
};

/** Facts for `outcomeMessage`: the exit facts plus the limits and peak they refer to. */
export interface MessageFacts extends ExitFacts {
  memLimitMb: number;
  peakRssMb: number;
  timeoutS?: number;
  launchError?: string;
}

/**
 * Pure: the human sentence of an outcome, e.g.
 * `killed: over memory limit 64 MB (peak 80 MB)` or `exit code 3: application-defined failure`.
 */
export function outcomeMessage(f: MessageFacts): string {
  if (f.launchFailed === true) {
    const how = f.exitCode === null ? undefined : exitMeaning(f.exitCode, null);
    return `launch failed: ${[how, f.launchError].filter(Boolean).join(': ')}`;
  }
  const how = exitMeaning(f.exitCode, f.signal);
  switch (f.action) {
    case 'memory':
      return `${ACTION_WORDS.memory} ${f.memLimitMb} MB (peak ${Math.round(f.peakRssMb)} MB)`;
    case 'time':
      return `${ACTION_WORDS.time} (${f.timeoutS ?? '?'} s); ${how}`;
    case 'cancel':
    case 'terminate':
    case 'hung':
      return `${ACTION_WORDS[f.action]}; ${how}`;
    case undefined:
      return how;
    default: {
      const _exhaustive: never = f.action;
      return _exhaustive;
    }
  }
}
