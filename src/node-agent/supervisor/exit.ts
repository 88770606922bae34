import { exitMeaning, signalFromExitCode, type FailureCause } from '../../events/index.js';
import type { DroverAction } from './types.js';

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
