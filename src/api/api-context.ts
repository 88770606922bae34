import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  jobBehaviour,
  stateName,
  type EntityRuntime,
  type JobSnapshot,
  type Loaded,
} from '../actors/index.js';
import { ErrorCodes, SchedulerError, type Actor } from '../events/index.js';
import type { IntakePublisher } from './intake-publisher.jetstream.js';
import type { LiveModel } from './live-model.jetstream.js';
import type { ReadModel } from './read-model.js';
import type { Caller } from './protocol.js';
import { publicState } from './views.js';

/** What every handler of the API service gets (the shell's dependencies, passed in). */
export interface ApiContext {
  readonly nc: NatsConnection;
  /** The durable intake (submissions). */
  readonly intake: IntakePublisher;
  readonly runtime: EntityRuntime;
  readonly live: LiveModel;
  /**
   * A model that holds job `id`: the live one, or, for a job it let go of (`ReadRetention`), one
   * folded from the job's events in the log. Undefined when the log knows no such job.
   */
  readonly jobModel: (id: string) => Promise<ReadModel | undefined>;
  /**
   * Where job `id`'s `job.submitted` is in the log, the archive included: the place in the
   * `jobs` list of a paging cursor whose job has left the read model. Undefined: no such job.
   */
  readonly submittedSeq: (id: string) => Promise<number | undefined>;
  /**
   * Job `id` folded from the archive when the live log holds none of its events (`drover
   * compact` moved its tree); undefined when the archive holds none either. Archived history is
   * closed: nothing is appended to it again (the append would conflict, and a new event could
   * not chain to the moved ones), so commands answer from this and never write to such a job.
   */
  readonly archivedJob: (id: string) => Promise<Loaded<JobSnapshot> | undefined>;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly newId: () => string;
}

/**
 * The model to read job `id` in: the live one, or the job alone read back from the log when the
 * live one let go of it (an unknown job: the live one, where it is not found either).
 */
export async function modelOf(ctx: ApiContext, id: string): Promise<ReadModel> {
  return (await ctx.jobModel(id)) ?? ctx.live.model;
}

/** One request as a handler sees it: who asks, the decoded body, the request headers. */
export interface ApiRequest {
  readonly caller: Caller;
  readonly body: unknown;
  readonly headers?: MsgHdrs;
}

export type Handler = (ctx: ApiContext, req: ApiRequest) => Promise<Record<string, unknown>>;

/**
 * Who acts: on a user's own surface that user (the server vouches for the subject); on the
 * trusted surface an admin, named by the request's `by` field.
 */
export function actorOf(caller: Caller, by?: string): Actor {
  return caller.user !== undefined
    ? { kind: 'user', id: caller.user }
    : { kind: 'admin', id: by ?? 'admin' };
}

/** The command meta of a request: the client's request id makes a retried request idempotent. */
export function metaOf(ctx: ApiContext, req: ApiRequest, by: Actor, tag: string) {
  const requestId = req.headers?.get('Drover-Request-Id');
  const id = requestId ? `api:${requestId.slice(0, 100)}:${tag}` : `api:${ctx.newId()}:${tag}`;
  return { id, at: ctx.clock(), by };
}

/** Refuse admin-only operations on a user's surface. */
export function requireAdmin(caller: Caller, what: string): void {
  if (caller.user !== undefined) {
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `${what} is for admins; user ${caller.user} may not`,
    );
  }
}

/** A job as a command loads it: its state, its subject's last sequence, and where it was read. */
export interface OwnJob {
  readonly job: JobSnapshot;
  readonly lastSeq: number;
  /** Read from the archive (a compacted job): closed, no command may append to it. */
  readonly archived: boolean;
}

/**
 * Load a job fresh from the log (the truth, not the read model), from the archive when it was
 * compacted; NOT_FOUND when unknown to both, and FORBIDDEN when a user acts on another user's job.
 */
export async function loadOwnJob(ctx: ApiContext, caller: Caller, id: string): Promise<OwnJob> {
  const live = await ctx.runtime.load(jobBehaviour, id);
  const archived =
    stateName(live.state) === 'none' && live.lastSeq === 0 ? await ctx.archivedJob(id) : undefined;
  const loaded = archived ?? live;
  const spec = loaded.state.context.spec;
  if (!publicState(loaded.state) || !spec)
    throw new SchedulerError(ErrorCodes.NotFound, `no job ${id}`);
  if (caller.user !== undefined && spec.user !== caller.user) {
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `job ${id} belongs to ${spec.user}, not ${caller.user}`,
    );
  }
  return { job: loaded.state, lastSeq: loaded.lastSeq, archived: archived !== undefined };
}

/**
 * Why no command may write to a compacted job, in words (the refusals of clear, priority and
 * the plans' blockers say the same).
 */
export function archivedWords(id: string): string {
  return `job ${id} was compacted to the archive (drover compact): its history is closed and nothing is written to it again; its results stay readable there (drover show)`;
}
