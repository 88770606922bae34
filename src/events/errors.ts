/** Codes of failures (not of expected outcomes, which are data). */
export const ErrorCodes = {
  Decode: 'DECODE',
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  UnknownEventVersion: 'UNKNOWN_EVENT_VERSION',
  InvalidEvent: 'INVALID_EVENT',
  /** A submission that does not match the submit body of CONTRACT.md (field named). */
  InvalidSubmission: 'INVALID_SUBMISSION',
  InvalidTransition: 'INVALID_TRANSITION',
  Concurrency: 'CONCURRENCY',
  Unavailable: 'UNAVAILABLE',
  Timeout: 'TIMEOUT',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one error class of Drover; `code` says what kind of failure it is. */
export class SchedulerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SchedulerError';
    this.code = code;
  }
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
