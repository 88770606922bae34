import { DecodeError, currentVersion, eventCatalog, validateEvent } from '../events/index.js';
import type { Actor, DroverEvent, EventType } from '../events/index.js';
import type { Fold } from './evolve.js';

/**
 * What every command carries. Time, ids and the actor come in as data, so deciding stays pure
 * and a retried command yields the very same events (same ids, deduplicated by the log).
 */
export interface CommandMeta {
  /** Unique per command; event `i` of its decision gets the id `${id}#${i}`. */
  readonly id: string;
  /** Epoch milliseconds: becomes the events' `at`. */
  readonly at: number;
  readonly by: Actor;
  /** Copied onto the events: the command or cascade this belongs to. */
  readonly corr?: string;
  /** Copied onto the events: the event that led to this command. */
  readonly cause?: string;
}

/** A command of type `T` with data `D` (no `data` when `D` is `void`). */
export type Command<T extends string, D = void> = CommandMeta & { readonly type: T } & ([
    D,
  ] extends [void]
    ? { readonly data?: undefined }
    : { readonly data: D });

/** Why a command was refused (the `code` of a `Rejection`). */
export const RejectionCodes = {
  /** The machine does not accept the command's event in the entity's current state. */
  InvalidTransition: 'InvalidTransition',
  /** A result of an attempt that is not current, or after cancel or clear: audited, never stored. */
  StaleResult: 'StaleResult',
  /** The command's data does not make a valid event (field named in the message). */
  InvalidCommand: 'InvalidCommand',
} as const;
export type RejectionCode = (typeof RejectionCodes)[keyof typeof RejectionCodes];

/** A refused command: an expected outcome, so data (STYLE.md), with a message people can act on. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
}

/**
 * The outcome of `decide`: expected outcomes are data. A rejection may carry audit events
 * (`*.command_rejected`, `chunk.result_rejected`) that the runtime appends in place of the events.
 */
export type Decision =
  | { readonly ok: true; readonly events: readonly DroverEvent[] }
  | { readonly ok: false; readonly rejection: Rejection; readonly audit?: readonly DroverEvent[] };

/** An event to be, before the envelope is put around it. */
export interface Draft {
  readonly type: EventType;
  readonly data?: unknown;
}

/**
 * Wrap `draft` in the envelope of `command` and validate it with its schema (defaults filled in).
 * Returns the field problem as a string when the data is not valid. Pure.
 * @internal
 */
export function envelop(
  command: CommandMeta,
  draft: Draft,
  suffix: string | number,
): DroverEvent | string {
  const entry = eventCatalog.get(draft.type);
  if (!entry) return `unknown event type ${draft.type}`;
  const candidate = {
    type: draft.type,
    v: currentVersion(draft.type),
    id: `${command.id}#${suffix}`,
    at: command.at,
    by: command.by,
    ...(command.corr !== undefined && { corr: command.corr }),
    ...(command.cause !== undefined && { cause: command.cause }),
    data: draft.data ?? {},
  };
  try {
    return validateEvent(candidate);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  }
}

/** How rejections of one entity are audited: its `*.command_rejected` type, if it has one. */
export type AuditType = 'job.command_rejected' | 'chunk.command_rejected' | undefined;

/**
 * Reject `command`, with an audit event when the entity has an audit type and its machine
 * accepts the audit in `state` (an entity that does not exist yet has nothing to audit on). Pure.
 * @internal
 */
export function reject<S>(
  fold: Fold<S>,
  state: S,
  command: CommandMeta & { readonly type: string },
  rejection: Rejection,
  auditType: AuditType,
): Decision {
  if (!auditType) return { ok: false, rejection };
  const data = {
    command: command.type,
    code: rejection.code,
    message: rejection.message.slice(0, 4000),
  };
  const audit = envelop(command, { type: auditType, data }, 'rejected');
  if (typeof audit === 'string' || !fold.accepts(state, audit)) return { ok: false, rejection };
  return { ok: false, rejection, audit: [audit] };
}

/**
 * Decide a command that becomes `drafts`: envelope and validate them, then check each against the
 * machine in turn (never by hand-written rules). Pure.
 * @internal
 */
export function decideDrafts<S>(
  fold: Fold<S>,
  state: S,
  command: CommandMeta & { readonly type: string },
  drafts: readonly Draft[],
  auditType: AuditType,
): Decision {
  const events: DroverEvent[] = [];
  let current = state;
  for (const [i, draft] of drafts.entries()) {
    const event = envelop(command, draft, i);
    if (typeof event === 'string') {
      const message = `${command.type}: invalid ${draft.type}: ${event}`;
      return reject(
        fold,
        state,
        command,
        { code: RejectionCodes.InvalidCommand, message },
        auditType,
      );
    }
    const next = fold.tryEvolve(current, event);
    if (next === undefined) {
      const message = `${command.type} refused: ${fold.explain(current, event)}`;
      return reject(
        fold,
        state,
        command,
        { code: RejectionCodes.InvalidTransition, message },
        auditType,
      );
    }
    events.push(event);
    current = next;
  }
  return { ok: true, events };
}

/**
 * A decider for an entity whose every command becomes exactly one event: `eventOf` maps each
 * command type to its event type (exhaustive by its type). Pure.
 * @internal
 */
export function oneEventDecider<
  S,
  C extends CommandMeta & { readonly type: string; readonly data?: unknown },
>(
  fold: Fold<S>,
  eventOf: Readonly<Record<C['type'], EventType>>,
  auditType: AuditType,
): (state: S, command: C) => Decision {
  return (state, command) => {
    const type: EventType = eventOf[command.type as C['type']];
    return decideDrafts(fold, state, command, [{ type, data: command.data }], auditType);
  };
}
