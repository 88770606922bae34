/**
 * Every failure code of Drover, one family (STYLE.md §4, like nats.js `jserrors.ts`). The
 * request codes are the ones of CONTRACT.md, carried in API replies and printed by the CLI as
 * `error: <code>: <message>`; the log's codes say what went wrong reading or writing events.
 * Each code has exactly one CLI exit code, in `src/cli/exit-codes.ts`.
 */
export const ErrorCodes = {
  /** The request or a flag is malformed (the field is named). */
  BadInput: 'BAD_INPUT',
  /** No such job, node or operation. */
  NotFound: 'NOT_FOUND',
  /** Refused by the entity's state (clear while a process lives, ...). */
  Refused: 'REFUSED',
  /** Refused by permission (a user's own surface, a NATS permission). */
  Forbidden: 'FORBIDDEN',
  /** A part of the farm does not answer (NATS, the API service, an agent). */
  Unavailable: 'UNAVAILABLE',
  /** A part of the farm answered too late. */
  Timeout: 'TIMEOUT',
  /** A failure that is none of the above: a bug or an unreadable reply. */
  Internal: 'INTERNAL',
  Decode: 'DECODE',
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  UnknownEventVersion: 'UNKNOWN_EVENT_VERSION',
  InvalidEvent: 'INVALID_EVENT',
  /** A submission that does not match the submit body of CONTRACT.md (field named). */
  InvalidSubmission: 'INVALID_SUBMISSION',
  InvalidTransition: 'INVALID_TRANSITION',
  Concurrency: 'CONCURRENCY',
  /** The log misses stream sequences (`drover verify` names them); a fold refuses to cross. */
  LogHole: 'LOG_HOLE',
  /** `replay --verify`: the live projections differ from a rebuild from the log. */
  NotEqual: 'NOT_EQUAL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** Whether `code` (from a reply on the wire, say) is one of ours. Pure. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** `ErrorOptions` plus the machine-readable details a reply or the CLI prints with the code. */
export interface SchedulerErrorOptions extends ErrorOptions {
  readonly details?: unknown;
}

/**
 * The one error class of Drover; `code` says what kind of failure it is, so callers branch on
 * the code, never on the message. Wrap with `{ cause }` so the original stays inspectable.
 * @example throw new SchedulerError(ErrorCodes.NotFound, `no job ${id}`);
 */
export class SchedulerError extends Error {
  readonly code: ErrorCode;
  /** What a reply's `error.details` carries (field issues of a BAD_INPUT, say). */
  readonly details: unknown;
  constructor(code: ErrorCode, message: string, options?: SchedulerErrorOptions) {
    super(message, options);
    this.name = 'SchedulerError';
    this.code = code;
    this.details = options?.details;
  }
}

/** Whether `err` is a Drover failure with that code (a guard for `catch` blocks). Pure. */
export function hasCode(err: unknown, ...codes: ErrorCode[]): err is SchedulerError {
  return err instanceof SchedulerError && codes.includes(err.code);
}

/** A field-level problem, named by its path (`data.memMb`), for messages people can act on. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A message that is not a valid Drover event: undecodable bytes, an unknown type or version,
 * or data that fails its schema. Carries where it sits in the log so it can be found.
 */
export class DecodeError extends SchedulerError {
  readonly subject: string | undefined;
  readonly seq: number | undefined;
  readonly issues: readonly FieldIssue[];
  constructor(
    code: ErrorCode,
    message: string,
    where: { subject?: string; seq?: number; issues?: readonly FieldIssue[] },
    options?: ErrorOptions,
  ) {
    const at =
      where.seq !== undefined
        ? ` (seq ${where.seq}${where.subject ? ` on ${where.subject}` : ''})`
        : '';
    super(code, `${message}${at}`, options);
    this.name = 'DecodeError';
    this.subject = where.subject;
    this.seq = where.seq;
    this.issues = where.issues ?? [];
  }
}

/** An attempt to apply an event the machine does not accept in its current state. */
export class InvalidTransitionError extends SchedulerError {
  constructor(
    readonly entity: string,
    readonly state: string,
    readonly eventType: string,
  ) {
    super(ErrorCodes.InvalidTransition, `${entity} in state ${state} does not accept ${eventType}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Appends kept conflicting after the allowed number of reloads. */
export class ConcurrencyError extends SchedulerError {
  constructor(
    readonly subject: string,
    readonly attempts: number,
  ) {
    super(ErrorCodes.Concurrency, `${subject}: still conflicting after ${attempts} attempts`);
    this.name = 'ConcurrencyError';
  }
}
