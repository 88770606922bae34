import { allQuiescent, stateName } from '../actors/index.js';
import {
  chunkId,
  parseChunkId,
  parseEventSubject,
  type ArchiveScope,
  type RecordedEvent,
} from '../events/index.js';
import type { ReadModel } from './read-model.js';

/**
 * How long a finished job stays in the API's and the dashboard's read model by default
 * (`DROVER_READ_RETENTION`): `drover jobs --all` lists what finished within it. Older ones are
 * answered from the log on demand (`show`, `explain`, `logs`, the dashboard's job page).
 */
export const DEFAULT_READ_RETENTION_MS = 24 * 3600_000;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** The job an entity of a job's own tree belongs to (`j1`, `j1:0`, `j1:0:2`), or undefined. */
function jobOf(entity: string, id: string): string | undefined {
  if (entity === 'job') return id;
  if (entity === 'chunk') return parseChunkId(id).jobId;
  if (entity === 'worker') return parseChunkId(id.slice(0, id.lastIndexOf(':'))).jobId;
  return undefined;
}

/**
 * Whether `event` belongs to a job the model let go of: an event of a job, chunk or worker whose
 * job the model does not hold, other than the job's own submission. Such an event must not be
 * folded onto an empty entity (its machine would refuse it); the log keeps it, and the job's
 * on-demand read sees it. Pure.
 */
export function ofRetiredJob(model: ReadModel, event: RecordedEvent): boolean {
  const target = parseEventSubject(event.recorded.subject);
  if (!target || event.type === 'job.submitted') return false;
  const job = jobOf(target.entity, target.id);
  return job !== undefined && !model.jobs.has(job);
}

/**
 * What of the archive a model with this retention folds at a start, as of `now`: only the jobs
 * that ended within it (every other one it would let go of at its first sweep), or all of it
 * when every job stays. Pure.
 */
export function archiveScopeOf(retainMs: number, now: number): ArchiveScope | true {
  return Number.isFinite(retainMs) ? { endedSince: now - retainMs } : true;
}

/** The entities of a job the retention let go of (a holder of other indexes drops them too). */
export interface RetiredJob {
  readonly job: string;
  readonly chunks: readonly string[];
  readonly workers: readonly string[];
}

/**
 * Keeps the read model bounded over a farm's life (issue 23 point 7): a job seen finished is held
 * `retainMs` after it ended, then leaves the model with its chunks and workers, if nothing else
 * needs it there. Kept: a job not terminal or not quiescent (a process not confirmed stopped);
 * a job of a tree (a parent or children: cancel and clear plans, runs and the dashboard's tree
 * read them from the model). A FIFO in the order jobs ended, so a sweep costs what is due.
 * Pure: time is passed in; mutates the model it is given.
 */
export class ReadRetention {
  private readonly queue: { id: string; at: number }[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  /** Jobs let go of since this process started. */
  retired = 0;

  /** `onRetire` is told each job let go of, with its chunks and workers, after they left. */
  constructor(
    private readonly retainMs: number,
    private readonly onRetire?: (gone: RetiredJob) => void,
  ) {}

  /** Jobs waiting for their time (tests, metrics). */
  get waiting(): number {
    return this.queued.size;
  }

  /** After an event of job `id` was folded: a terminal job is queued (once), from `at`. */
  note(model: ReadModel, id: string, at: number): void {
    const job = model.jobs.get(id);
    if (!job || !TERMINAL.has(stateName(job)) || this.queued.has(id)) return;
    if (!Number.isFinite(this.retainMs)) return;
    this.queued.add(id);
    this.queue.push({ id, at });
  }

  /** Queue every terminal job of a model restored from a snapshot (they were noted before). */
  noteAll(model: ReadModel): void {
    for (const [id, job] of model.jobs) this.note(model, id, job.context.endedAt ?? 0);
  }

  /** Let go of every job whose time is up and that may go; look again later at the others. */
  sweep(model: ReadModel, now: number): void {
    const later: { id: string; at: number }[] = [];
    while (this.head < this.queue.length) {
      const next = this.queue[this.head] as { id: string; at: number };
      if (next.at + this.retainMs > now) break;
      this.head++;
      const verdict = this.verdict(model, next.id);
      if (verdict === 'keep') later.push({ id: next.id, at: now });
      else {
        this.queued.delete(next.id);
        if (verdict === 'retire') this.retire(model, next.id);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.queue.push(...later);
  }

  private verdict(model: ReadModel, id: string): 'retire' | 'keep' | 'drop' {
    const job = model.jobs.get(id);
    if (!job || !TERMINAL.has(stateName(job))) return 'drop';
    if (job.context.spec?.parent !== undefined) return 'drop';
    if (Object.keys(job.context.children).length > 0) return 'drop';
    return allQuiescent(job.context) ? 'retire' : 'keep';
  }

  private retire(model: ReadModel, id: string): void {
    const job = model.jobs.get(id);
    const total = Math.max(job?.context.chunks.total ?? 0, job?.context.spec?.chunks ?? 0);
    const chunks: string[] = [];
    const workers: string[] = [];
    for (let i = 0; i < total; i++) {
      const cid = chunkId(id, i);
      for (const a of model.chunks.get(cid)?.context.attempts ?? []) {
        model.workers.delete(a.worker);
        workers.push(a.worker);
      }
      if (model.chunks.delete(cid)) chunks.push(cid);
      model.liveChunks.delete(cid);
    }
    model.jobs.delete(id);
    model.jobSeqs.delete(id);
    this.retired++;
    this.onRetire?.({ job: id, chunks, workers });
  }
}
