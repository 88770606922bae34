import type { ChunkCommand, CommandMeta, WorkerCommand } from '../actors/index.js';
import { WORKER_MESSAGE_MAX } from '../events/index.js';
import type { ProcessOutcome } from './supervisor/index.js';

/** Usage figures of an outcome, as worker events carry them. */
const usage = (o: ProcessOutcome) => ({
  peakRssMb: o.peakRssMb,
  cpuSeconds: o.cpuSeconds,
  wallSeconds: o.wallSeconds,
});

/** Causes for which Drover itself stopped the process (the worker reads `killed`). */
const KILLED_BY_DROVER = new Set(['OutOfMemory', 'TimeLimit', 'Cancelled', 'Preempted']);

/** `text` cut to `max` characters, the cut marked with an ellipsis. Pure. */
export function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The worker's closing command for an outcome: `killed` when Drover stopped the process (limit,
 * cancel, terminate), `exited` when it ended on its own. An exit that is not a success carries
 * the agent's message (bounded): what the attempt's own entity says about why it ended, e.g.
 * what changed in a pinned environment. Pure.
 */
export function workerEnd(outcome: ProcessOutcome, meta: CommandMeta): WorkerCommand {
  if (KILLED_BY_DROVER.has(outcome.cause)) {
    const signal = outcome.signal ?? 'SIGKILL';
    return {
      type: 'ReportKilled',
      ...meta,
      data: { ...usage(outcome), signal, cause: outcome.cause },
    };
  }
  return {
    type: 'ReportExited',
    ...meta,
    data: {
      ...usage(outcome),
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      cause: outcome.cause,
      ...(outcome.cause !== 'Succeeded' &&
        outcome.message !== '' && { message: bounded(outcome.message, WORKER_MESSAGE_MAX) }),
    },
  };
}

/**
 * The chunk's command for an outcome of attempt `attempt`: its result on success, the confirmed
 * cancel after a cancel, otherwise the failed attempt with its cause (the scheduler decides the
 * retry). The process is gone in every case, so `confirmed` is true. Pure.
 */
export function chunkEnd(
  attempt: number,
  outcome: ProcessOutcome,
  meta: CommandMeta,
): ChunkCommand {
  switch (outcome.cause) {
    case 'Succeeded':
      return {
        type: 'ReportResult',
        ...meta,
        data: outcome.result === undefined ? { attempt } : { attempt, result: outcome.result },
      };
    case 'Cancelled':
      return { type: 'ConfirmCancelled', ...meta, data: { attempt, confirmed: true } };
    default:
      return attemptFailed(attempt, outcome, meta);
  }
}

/** The failed attempt, for outcomes that are not a success (also the fallback of a cancel). */
export function attemptFailed(
  attempt: number,
  outcome: ProcessOutcome,
  meta: CommandMeta,
): ChunkCommand {
  return {
    type: 'ReportAttemptFailed',
    ...meta,
    data: {
      attempt,
      cause: outcome.cause,
      ...(outcome.exitCode !== null && { exitCode: outcome.exitCode }),
      ...(outcome.signal !== null && { signal: outcome.signal }),
      message: outcome.message.slice(0, 4000),
      confirmed: true,
    },
  };
}
