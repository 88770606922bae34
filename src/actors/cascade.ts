import { chunkId } from '../events/index.js';
import type { Actor, DroverEvent, SettledState } from '../events/index.js';
import * as chunkSettlements from './chunk-settlements.js';
import type { ChunkCommand } from './chunk.decide.js';
import type { ChunkSnapshot } from './chunk.machine.js';
import type { CommandMeta } from './decision.js';
import { stateName } from './evolve.js';
import { decideJob } from './job.decide.js';
import type { JobCommand } from './job.decide.js';
import { allQuiescent } from './job.machine.js';
import type { JobSnapshot } from './job.machine.js';

/** A command and the id of the entity it is for. */
export interface Addressed<C> {
  readonly id: string;
  readonly command: C;
}

const isTerminal = (s: { hasTag(tag: 'terminal'): boolean }) => s.hasTag('terminal');
const jobQuiescent = (s: JobSnapshot) => isTerminal(s) && allQuiescent(s.context);

/** FNV-1a over the string, two seeds: 64 bits as hex. Pure. */
function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/**
 * A command id derived from `base` (a command or event id) and `tag`: deterministic, so a cascade
 * replayed after a crash yields the same ids and the log deduplicates its events. Ids nest with
 * each level of a cascade, so long ones are folded into a hash to stay under the id limit.
 */
export function derivedId(base: string, tag: string): string {
  const id = `${base}>${tag}`;
  return id.length <= 160 ? id : `~${hash64(id)}>${tag.slice(-100)}`;
}

/** The meta of a command caused by `event`. */
function causedBy(event: DroverEvent, by: Actor, tag: string): CommandMeta {
  const corr = event.corr !== undefined ? { corr: event.corr } : {};
  return { id: derivedId(event.id, tag), at: event.at, by, cause: event.id, ...corr };
}

/**
 * What a job must learn from a chunk event just recorded (`before` → `after`). Pure.
 * - the chunk became terminal: `RecordChunksSettled` (quiescent when no attempt is unconfirmed);
 * - a terminal chunk's last unconfirmed process was confirmed stopped: `RecordChunksQuiesced`.
 */
export function afterChunkEvent(
  before: ChunkSnapshot,
  after: ChunkSnapshot,
  event: DroverEvent,
  by: Actor,
): Addressed<JobCommand> | undefined {
  if (!isTerminal(after)) return undefined;
  const { jobId, index, unconfirmed } = after.context;
  if (!isTerminal(before)) {
    const settlement = {
      index,
      state: stateName(after) as SettledState,
      quiescent: unconfirmed.length === 0,
    };
    const data = { chunks: [settlement] };
    return {
      id: jobId,
      command: { type: 'RecordChunksSettled', ...causedBy(event, by, 'settled'), data },
    };
  }
  if (before.context.unconfirmed.length > 0 && unconfirmed.length === 0) {
    const data = { indices: [index] };
    return {
      id: jobId,
      command: { type: 'RecordChunksQuiesced', ...causedBy(event, by, 'quiesced'), data },
    };
  }
  return undefined;
}

/**
 * What a job's parent must learn from an event of the job `jobId` (`before` → `after`). Pure.
 * A job is quiescent when it is terminal and all its chunks and children are.
 */
export function afterJobEvent(
  jobId: string,
  before: JobSnapshot,
  after: JobSnapshot,
  event: DroverEvent,
  by: Actor,
): Addressed<JobCommand> | undefined {
  const parent = after.context.spec?.parent;
  if (parent === undefined || !isTerminal(after)) return undefined;
  if (!isTerminal(before)) {
    const data = {
      childId: jobId,
      state: stateName(after) as SettledState,
      quiescent: jobQuiescent(after),
    };
    return {
      id: parent,
      command: { type: 'RecordChildSettled', ...causedBy(event, by, 'settled'), data },
    };
  }
  if (!jobQuiescent(before) && jobQuiescent(after)) {
    const data = { childId: jobId };
    return {
      id: parent,
      command: { type: 'RecordChildQuiesced', ...causedBy(event, by, 'quiesced'), data },
    };
  }
  return undefined;
}

/** The commands that carry a job's cancel to everything under it. */
export interface CancelPlan {
  /** `RequestCancel` for every chunk that is not terminal (id: the chunk id). */
  readonly chunks: readonly Addressed<ChunkCommand>[];
  /** `RequestCancel` for every child the job has not seen settle (id: the child job id). */
  readonly children: readonly Addressed<JobCommand>[];
  /**
   * For the job itself: chunks never created, and children added but never submitted, are
   * settled as cancelled (nothing of them ever ran).
   */
  readonly job: readonly JobCommand[];
}

/** The job states from which a job is still open to a cancel of its own (not yet cancelling). */
const CANCELLABLE = new Set(['submitted', 'queued', 'held', 'running']);

/**
 * The id of the cancel job `jobId`'s cascade sends to `targetId` (a chunk or a child job): the
 * scheduler's rule asks the cascade under the meta id `cancel:<jobId>`, so every asker of that
 * same cancel (the cascade, the target's own rule) writes it once.
 */
export const cascadeCancelId = (jobId: string, targetId: string): string =>
  derivedId(`cancel:${jobId}`, `cancel:${targetId}`);

/**
 * The cancel cascade of job `jobId`, given its snapshot, its chunks' snapshots by index
 * (`undefined` for a chunk never created) and its children's (`child`; `undefined` for a child
 * never submitted). Children come from the job's own context. Pure. Chunks in `cancelling` and
 * terminal chunks need nothing; the children cascade in turn.
 *
 * A child the job added but that was never submitted (its creation cut between the parent's
 * `child_added` and the child's `job.submitted`: a leader killed there, or a cancel that came
 * between the two) refuses a cancel (a job that does not exist accepts nothing but its
 * submission), and nothing will settle it: the job waited for it, `cancelling` for ever. It is
 * settled here as cancelled, like a chunk never created. Its submission cannot follow in an
 * orderly way (the intake refuses children of a job that is not open, the timekeeper makes no
 * task of a cancelled run); one already under way when the cascade looked is cancelled by
 * `cancelFromParent`, and never placed meanwhile (a child of a parent that is not open is not
 * placeable).
 */
export function cancelCascade(
  jobId: string,
  job: JobSnapshot,
  chunks: readonly (ChunkSnapshot | undefined)[],
  child: (id: string) => JobSnapshot | undefined,
  meta: CommandMeta & { readonly reason: string },
): CancelPlan {
  const { reason, ...base } = meta;
  const cmd = (tag: string) => ({
    ...base,
    id: derivedId(meta.id, tag),
    cause: meta.cause ?? meta.id,
  });
  const unsettled = chunkSettlements.unsettled(job.context.chunks);
  const neverCreated = unsettled.filter(
    (i) => (chunks[i] ? stateName(chunks[i]) : 'none') === 'none',
  );
  const live = unsettled.filter((i) => {
    const chunk = chunks[i];
    return chunk && !isTerminal(chunk) && !['none', 'cancelling'].includes(stateName(chunk));
  });
  const waited = Object.keys(job.context.children).filter(
    (id) => job.context.children[id] === null,
  );
  const submitted = (id: string) => {
    const c = child(id);
    return c !== undefined && stateName(c) !== 'none';
  };
  const settle = neverCreated.map((index) => ({
    index,
    state: 'cancelled' as const,
    quiescent: true,
  }));
  const neverSubmitted: JobCommand[] = waited
    .filter((id) => !submitted(id))
    .map((childId) => ({
      type: 'RecordChildSettled',
      ...cmd(`never-submitted:${childId}`),
      data: { childId, state: 'cancelled', quiescent: true },
    }));
  return {
    chunks: live.map((index) => {
      const id = chunkId(jobId, index);
      return { id, command: { type: 'RequestCancel', ...cmd(`cancel:${id}`), data: { reason } } };
    }),
    children: waited.filter(submitted).map((id) => ({
      id,
      command: { type: 'RequestCancel', ...cmd(`cancel:${id}`), data: { reason } },
    })),
    job: [
      ...(settle.length
        ? [
            {
              type: 'RecordChunksSettled' as const,
              ...cmd('never-created'),
              data: { chunks: settle },
            },
          ]
        : []),
      ...neverSubmitted,
    ],
  };
}

/**
 * The cancel a job owes because its parent is being (or was) cancelled, when the parent's
 * cascade did not reach it: the job was submitted after the cascade looked (a submission under
 * way when the cancel came; before it, the cascade settled the child as never submitted).
 * Without this it ran, a process after its parent's cancel. Undefined when the job is not open
 * or its parent is not cancelling or cancelled. Same id as the cascade's cancel of it
 * (`cascadeCancelId`): asked by both, written once. Pure.
 */
export function cancelFromParent(
  jobId: string,
  job: JobSnapshot,
  parent: JobSnapshot | undefined,
  meta: Omit<CommandMeta, 'id'>,
): Addressed<JobCommand> | undefined {
  const parentId = job.context.spec?.parent;
  if (parentId === undefined || parent === undefined || !CANCELLABLE.has(stateName(job)))
    return undefined;
  if (!['cancelling', 'cancelled'].includes(stateName(parent))) return undefined;
  // The cascade's own words (the parent's reason): the same command, whoever asks it first.
  const reason = parent.context.cancelReason ?? 'cancelled';
  return {
    id: jobId,
    command: {
      type: 'RequestCancel',
      ...meta,
      id: cascadeCancelId(parentId, jobId),
      data: { reason },
    },
  };
}

/**
 * The command that closes a job once its facts allow it, asking the machine (never a rule of its
 * own): `ConfirmCancelled` for a cancelling job whose every process is confirmed stopped,
 * `CompleteJob` for one whose every chunk and child succeeded. Failing is the scheduler's policy
 * (which cause, when to stop retrying), so it is not decided here. Pure.
 */
export function closingCommand(job: JobSnapshot, meta: CommandMeta): JobCommand | undefined {
  const candidates: JobCommand[] = [
    { type: 'ConfirmCancelled', ...meta },
    { type: 'CompleteJob', ...meta },
  ];
  return candidates.find((c) => decideJob(job, c).ok);
}
