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
  /** For the job itself: chunks never created are settled as cancelled (nothing ever ran). */
  readonly job: readonly JobCommand[];
}

/**
 * The cancel cascade of job `jobId`, given its snapshot and its chunks' snapshots by index
 * (`undefined` for a chunk never created). Children come from the job's own context. Pure.
 * Chunks in `cancelling` and terminal chunks need nothing; the children cascade in turn.
 */
export function cancelCascade(
  jobId: string,
  job: JobSnapshot,
  chunks: readonly (ChunkSnapshot | undefined)[],
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
  const childIds = Object.keys(job.context.children).filter(
    (id) => job.context.children[id] === null,
  );
  const settle = neverCreated.map((index) => ({
    index,
    state: 'cancelled' as const,
    quiescent: true,
  }));
  return {
    chunks: live.map((index) => {
      const id = chunkId(jobId, index);
      return { id, command: { type: 'RequestCancel', ...cmd(`cancel:${id}`), data: { reason } } };
    }),
    children: childIds.map((id) => ({
      id,
      command: { type: 'RequestCancel', ...cmd(`cancel:${id}`), data: { reason } },
    })),
    job: settle.length
      ? [{ type: 'RecordChunksSettled', ...cmd('never-created'), data: { chunks: settle } }]
      : [],
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
