import { ErrorCodes, SchedulerError, fromNatsError, type ErrorCode } from '../events/index.js';

/** The exit codes of the `drover` command (CONTRACT.md "Names"). */
export const ExitCodes = {
  /** Generic failure, and what the contract names for it (`replay --verify` not equal). */
  Failure: 1,
  BadInput: 2,
  NotFound: 3,
  /** Refused by state or by permission. */
  Refused: 4,
  /** Unavailable or timed out. */
  Unavailable: 5,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/**
 * THE code → exit code mapping, the only one (CONTRACT.md: 2 bad input, 3 not found, 4 refused
 * by state or permission, 5 unavailable / timeout). Total over the codes, so a new code does not
 * compile until it has an exit code. The log's own codes are failures of the farm, not of the
 * request: 1, except a rejected submission (bad input), a refused transition (refused by state)
 * and appends that kept conflicting (the log too busy to take them: unavailable).
 */
const EXIT_CODES: Readonly<Record<ErrorCode, ExitCode>> = {
  [ErrorCodes.BadInput]: ExitCodes.BadInput,
  [ErrorCodes.NotFound]: ExitCodes.NotFound,
  [ErrorCodes.Refused]: ExitCodes.Refused,
  [ErrorCodes.Forbidden]: ExitCodes.Refused,
  [ErrorCodes.Unavailable]: ExitCodes.Unavailable,
  [ErrorCodes.Timeout]: ExitCodes.Unavailable,
  [ErrorCodes.Internal]: ExitCodes.Failure,
  [ErrorCodes.Decode]: ExitCodes.Failure,
  [ErrorCodes.UnknownEventType]: ExitCodes.Failure,
  [ErrorCodes.UnknownEventVersion]: ExitCodes.Failure,
  [ErrorCodes.InvalidEvent]: ExitCodes.Failure,
  [ErrorCodes.InvalidSubmission]: ExitCodes.BadInput,
  [ErrorCodes.InvalidTransition]: ExitCodes.Refused,
  [ErrorCodes.Concurrency]: ExitCodes.Unavailable,
  [ErrorCodes.LogHole]: ExitCodes.Failure,
  [ErrorCodes.NotEqual]: ExitCodes.Failure,
};

/** The exit code of a failure's code. Pure. */
export function exitCodeOf(code: ErrorCode): ExitCode {
  return EXIT_CODES[code];
}

/**
 * How the CLI reports any error: a Drover error keeps its code; a NATS failure gets its code
 * from the one mapper (a permission the server denied is FORBIDDEN, exit 4, not "unavailable");
 * anything else is UNAVAILABLE (the CLI's failures that are not refusals are the farm not
 * answering). Pure.
 */
export function asCliError(err: unknown): SchedulerError {
  if (err instanceof SchedulerError) return err;
  const nats = fromNatsError(err);
  if (nats) return nats;
  return new SchedulerError(ErrorCodes.Unavailable, (err as Error)?.message ?? String(err), {
    cause: err,
  });
}
