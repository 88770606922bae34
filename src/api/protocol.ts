import { z } from 'zod';
import {
  EntityIdSchema,
  IsoDateSchema,
  RESERVATION_FLAGS,
  badInput,
  type ErrorCode,
} from '../events/index.js';
import { RUNBOOK_COMMANDS } from '../actors/index.js';
import { JOB_STATES } from './views.js';

/** The operations of workflows and runs (issue 17; handlers in api-workflows.service.ts). */
export const WORKFLOW_OPS = [
  'workflow.apply',
  'workflow.list',
  'workflow.next',
  'workflow.pause',
  'workflow.resume',
  'workflow.trigger',
  'workflow.backfill',
  'runs.list',
  'run.rerun',
] as const;

/**
 * The wire of the NATS API (CONTRACT.md "NATS API"): subjects, request schemas, reply envelope
 * (the body codec is the vocabulary's, `events/body-codec.ts`). Pure.
 *
 * Two surfaces share one service:
 * - `drover.api.<op>`: the trusted surface (admins, operators' tools, a local farm without
 *   roles). The actor is an admin named by the optional `by` field.
 * - `drover.api.as.<user>.<op>`: the user surface. The server's permissions let NATS user
 *   `<user>` publish only under its own `drover.api.as.<user>.>`, so the subject token *is* the
 *   identity, enforced by the server; the service acts for that user on that user's jobs only.
 */
export const API_PREFIX = 'drover.api';
export const API_WILDCARD = `${API_PREFIX}.>`;
/** Queue group of the service: several instances share the requests. */
export const API_QUEUE = 'drover-api';

export const API_OPS = [
  'submit',
  'resubmit',
  'cancel',
  'cancel.plan',
  'clear',
  'clear.plan',
  'job.get',
  'jobs.list',
  'explain',
  'logs',
  'nodes.list',
  'node.drain',
  'node.undrain',
  'node.cordon',
  'node.uncordon',
  'priority',
  'calendar.import',
  'calendar.list',
  'calendar.sessions',
  'reservation.create',
  'reservation.list',
  'reservation.delete',
  'alerts.list',
  'alerts.ack',
  'runbook.start',
  'runbook.record',
  'runbook.get',
  'runbook.runs',
  'session.open',
  'session.alloc',
  'session.resize',
  'session.stop',
  'session.get',
  'sessions.list',
  'fairshare.weight',
  'fairshare.config',
  'quota.set',
  'quota.clear',
  'quota.list',
  'exclusions.add',
  'exclusions.remove',
  'exclusions.list',
  'memdefault.set',
  'memdefault.clear',
  'memdefault.list',
  ...WORKFLOW_OPS,
  'promises',
] as const;
export type ApiOp = (typeof API_OPS)[number];

/** The subject of `op`, on the trusted surface or, with `as`, on that user's own surface. */
export function apiSubject(op: ApiOp, as?: string): string {
  return as === undefined ? `${API_PREFIX}.${op}` : `${API_PREFIX}.as.${as}.${op}`;
}

/** Who asks, as the subject says: `user` when it came in on a user's own surface. */
export interface Caller {
  readonly op: string;
  readonly user?: string;
}

/** Split an API subject into the operation and the caller's user (when scoped). Pure. */
export function parseApiSubject(subject: string): Caller | undefined {
  const tokens = subject.split('.');
  if (tokens[0] !== 'drover' || tokens[1] !== 'api') return undefined;
  if (tokens[2] === 'as') {
    const user = tokens[3];
    return user ? { op: tokens.slice(4).join('.'), user } : undefined;
  }
  return { op: tokens.slice(2).join('.') };
}

/** The `error` of an `{ok:false}` reply: a code of the one family, words, and details. */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}
export type ApiReply<T> = ({ ok: true } & T) | { ok: false; error: ApiErrorBody };

const Reason = z.string().max(1000);
const By = z.string().min(1).max(128);
const Id = EntityIdSchema;

/** Request bodies by operation (strict: an unknown field is named). `submit` is `SubmitBody`. */
export const RequestSchemas = {
  cancel: z.strictObject({
    id: Id,
    reason: Reason.optional(),
    wait: z.boolean().optional(),
    waitMs: z.number().int().positive().max(3_600_000).optional(),
    by: By.optional(),
  }),
  'cancel.plan': z.strictObject({ id: Id }),
  /** `drover resubmit JOB [--same-environment]`; `user`: whose copy (the trusted surface only). */
  resubmit: z.strictObject({
    id: Id,
    sameEnvironment: z.boolean().optional(),
    user: z.string().min(1).max(64).optional(),
  }),
  clear: z.strictObject({ id: Id, by: By.optional() }),
  'clear.plan': z.strictObject({ id: Id }),
  'job.get': z.strictObject({ id: Id, chunks: z.boolean().optional() }),
  'jobs.list': z.strictObject({
    user: z.string().min(1).max(64).optional(),
    state: z.enum(JOB_STATES as [string, ...string[]]).optional(),
    all: z.boolean().optional(),
    limit: z.number().int().positive().max(100_000).optional(),
    /** Paging (either field asks for pages): continue after this job, the previous page's `next`. */
    after: Id.optional(),
    /** Paging: at most this many rows in the page (it also stops short of the body limit). */
    pageSize: z.number().int().positive().max(10_000).optional(),
  }),
  explain: z.strictObject({ id: Id }),
  logs: z.strictObject({
    id: Id,
    chunk: z.number().int().nonnegative().optional(),
    attempt: z.number().int().positive().optional(),
    stream: z.enum(['stdout', 'stderr']).optional(),
    tailLines: z.number().int().positive().max(100_000).optional(),
    fromByte: z.number().int().nonnegative().optional(),
  }),
  'nodes.list': z.strictObject({}),
  node: z.strictObject({ node: Id, reason: Reason.optional(), by: By.optional() }),
  priority: z.strictObject({
    id: Id,
    priority: z.number().int().min(-1_000_000).max(1_000_000),
    reason: Reason,
    global: z.boolean().optional(),
    by: By.optional(),
  }),
  /** The calendar is checked by `parseCalendar` (its own paths: `holidays[2].date`). */
  'calendar.import': z.strictObject({ calendar: z.unknown(), by: By.optional() }),
  'calendar.list': z.strictObject({}),
  'calendar.sessions': z.strictObject({
    name: Id,
    from: IsoDateSchema,
    to: IsoDateSchema,
    version: z.number().int().positive().optional(),
  }),
  'reservation.create': z.strictObject({
    name: Id,
    start: z.string().max(64),
    end: z.string().max(64),
    nodes: z.array(Id).max(10_000).optional(),
    cpus: z.number().nonnegative().max(1_000_000).optional(),
    memMb: z.number().int().nonnegative().max(1_000_000_000).optional(),
    gpus: z.number().int().nonnegative().max(100_000).optional(),
    users: z.array(z.string().min(1).max(64)).min(1).max(1000),
    flags: z.array(z.enum(RESERVATION_FLAGS)).max(8).optional(),
    by: By.optional(),
  }),
  'reservation.list': z.strictObject({}),
  'reservation.delete': z.strictObject({ name: Id, reason: Reason.optional(), by: By.optional() }),
  'alerts.list': z.strictObject({ all: z.boolean().optional() }),
  'alerts.ack': z.strictObject({ id: Id, note: Reason.optional(), by: By.optional() }),
  /** The definition is checked by `parseRunbook` (its own paths: `steps[2].timeout`). */
  'runbook.start': z.strictObject({
    definition: z.unknown(),
    args: z.record(z.string().max(64), z.string().max(4000)).optional(),
    by: By.optional(),
  }),
  /** The data is checked against the event's schema when the command is decided. */
  'runbook.record': z.strictObject({
    id: Id,
    command: z.enum(RUNBOOK_COMMANDS),
    data: z.record(z.string(), z.unknown()),
    by: By.optional(),
  }),
  'runbook.get': z.strictObject({ id: Id }),
  'runbook.runs': z.strictObject({ all: z.boolean().optional() }),
  promises: z.strictObject({ user: z.string().min(1).max(64).optional() }),
} as const;

export type CancelRequest = z.infer<(typeof RequestSchemas)['cancel']>;
export type ClearRequest = z.infer<(typeof RequestSchemas)['clear']>;
export type JobsListRequest = z.infer<(typeof RequestSchemas)['jobs.list']>;
export type LogsRequest = z.infer<(typeof RequestSchemas)['logs']>;
export type NodeRequest = z.infer<(typeof RequestSchemas)['node']>;
export type PriorityRequest = z.infer<(typeof RequestSchemas)['priority']>;
export type ReservationCreateRequest = z.infer<(typeof RequestSchemas)['reservation.create']>;
export type CalendarSessionsRequest = z.infer<(typeof RequestSchemas)['calendar.sessions']>;

/** Parse a request body against its schema; BAD_INPUT naming the fields otherwise. Pure. */
export function parseRequest<S extends z.ZodType>(
  what: string,
  schema: S,
  body: unknown,
): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw badInput(what, parsed.error);
  return parsed.data;
}
