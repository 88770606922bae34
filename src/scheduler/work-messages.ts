import { toPlain, type ChunkSnapshot } from '../actors/index.js';
import type { JobSpec, LaunchWork, PendingReason } from '../events/index.js';
import type { Action, RuleContext } from './rules.js';
import type { ResourceVector } from '../policy/index.js';

/**
 * The launch message for a chunk just assigned: everything the agent needs to start the attempt,
 * with the chunk's state and sequence so it can append without reading first. Pure.
 */
export function launchWork(
  spec: JobSpec,
  chunk: ChunkSnapshot,
  lastSeq: number,
  node: string,
  request: ResourceVector,
): LaunchWork {
  const c = chunk.context;
  return {
    kind: 'launch',
    worker: c.worker!,
    jobId: c.jobId,
    chunk: c.index,
    chunks: c.total,
    attempt: c.attempt,
    node,
    command: spec.command,
    env: spec.env,
    request,
    ...(spec.cwd !== undefined && { cwd: spec.cwd }),
    ...(spec.timeoutS !== undefined && { timeoutS: spec.timeoutS }),
    ...(c.checkpoint !== undefined && { checkpoint: c.checkpoint }),
    ...(spec.pinnedEnvironment !== undefined && { pinnedEnvironment: spec.pinnedEnvironment }),
    chunkState: { snapshot: toPlain(chunk), lastSeq },
  };
}

export interface PendingNote {
  readonly reasons: readonly PendingReason[];
  readonly rank?: number;
}

/** The other users ahead of a waiting job (its note, its user), for a note being written. */
export type AheadOf<N extends PendingNote> = (
  note: N,
  user: string,
) => { user: string; dru: number }[];

/**
 * Whether a note's reasons differ from those the job holds (by code, in order; a job with none
 * noted yet differs). Pure; allocates nothing (it runs for every waiting job every round).
 */
export function notesDiffer(
  held: readonly { code: string }[] | undefined,
  noted: readonly { code: string }[],
): boolean {
  if (held === undefined || held.length !== noted.length) return true;
  for (let i = 0; i < held.length; i++) if (held[i]!.code !== noted[i]!.code) return true;
  return false;
}

/**
 * `job.pending_noted` when the set of reasons differs from the last one noted (not every round:
 * the log records changes, which is what "why was it pending at 09:14?" needs). Pure.
 */
export function pendingAction<N extends PendingNote>(
  ctx: RuleContext,
  jobId: string,
  note: N,
  queueLength: number,
  // Asked only for a note that is written: most rounds write none (a list per job per round
  // was most of a refresh round's garbage at 100,000 waiting jobs).
  ahead: AheadOf<N>,
): Action | undefined {
  const job = ctx.peek.job(jobId);
  if (!job || !notesDiffer(job.context.pending?.reasons, note.reasons)) return undefined;
  const data = {
    reasons: note.reasons.slice(0, 20),
    ahead: ahead(note, job.context.spec?.user ?? ''),
    queueLength,
    ...(note.rank !== undefined && { rank: note.rank }),
  };
  const id = `pending:${jobId}@${ctx.now}`;
  return {
    entity: 'job',
    id: jobId,
    command: { type: 'NotePending', id, at: ctx.now, by: ctx.by, data },
  };
}

/**
 * The commands that take a submission in, in order: its place among its parent's children, the
 * job (by its user), its queueing, then its chunks (these may go in parallel). Pure.
 *
 * The parent's `child_added` comes first: once it is in, the parent cannot end before the child
 * settles. The other way round a parent could end between the child's `job.submitted` and its
 * `child_added` (a leader killed between the two, the intake's redelivery then finding the parent
 * ended): the child, accepted, stayed `submitted` for ever (found by the chaos run, issue 23).
 * Now a parent that ended first refuses `child_added` and nothing of the child is written: the
 * redelivered submission is rejected, recorded, as any other whose parent has ended.
 */
export function submissionSteps(
  ctx: RuleContext,
  jobId: string,
  spec: JobSpec,
): { first: Action[]; chunks: Action[] } {
  const at = ctx.now;
  const by = ctx.by;
  const user = { kind: 'user' as const, id: spec.user };
  const first: Action[] = [
    ...(spec.parent
      ? [
          {
            entity: 'job' as const,
            id: spec.parent,
            command: {
              type: 'AddChild' as const,
              id: `child:${jobId}`,
              at,
              by,
              data: { childId: jobId },
            },
          },
        ]
      : []),
    {
      entity: 'job',
      id: jobId,
      command: { type: 'SubmitJob', id: `submit:${jobId}`, at, by: user, data: spec },
    },
    { entity: 'job', id: jobId, command: { type: 'QueueJob', id: `queue:${jobId}`, at, by } },
  ];
  const chunks: Action[] = Array.from({ length: spec.chunks }, (_, index) => ({
    entity: 'chunk' as const,
    id: `${jobId}:${index}`,
    command: {
      type: 'CreateChunk' as const,
      id: `create:${jobId}:${index}`,
      at,
      by,
      data: { jobId, index, total: spec.chunks },
    },
  }));
  return { first, chunks };
}
