import {
  allQuiescent,
  chunkBehaviour,
  jobBehaviour,
  stateName,
  workerBehaviour,
  type EntityBehaviour,
  type EntityRuntime,
  type JobSnapshot,
} from '../actors/index.js';
import { chunkId, eventSubject, parseChunkId, workerId } from '../events/index.js';
import type { Peek } from './rules.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** What retirement lets go of beside the runtime's cache: the index's and the pump's entries. */
export interface RetirementDeps {
  readonly runtime: EntityRuntime;
  readonly peek: Peek;
  /** Job id → jobs that run `after` it (FarmIndex.dependents). */
  readonly dependents: ReadonlyMap<string, ReadonlySet<string>>;
  readonly openJobs: ReadonlySet<string>;
  /** Drop what the index and the pump keep for a job let go of. */
  readonly forgetJob: (id: string, job: JobSnapshot) => void;
  /** How long a job stays held after it was seen terminal (default `RETIRE_AFTER_MS`). */
  readonly afterMs?: number;
}

/**
 * How long a finished job stays in the scheduler's memory: late facts about it (a quiescence, an
 * audit of a refused command) come within seconds; after this only a read of the log brings it
 * back (`reloadTree`), which costs a read, never a wrong decision.
 */
export const RETIRE_AFTER_MS = 30_000;

/**
 * Lets go of finished jobs: a job seen terminal is held `afterMs`, then, if nothing may still
 * need it in memory, it leaves the runtime's cache with its chunks and their workers, and the
 * index and the pump forget it. Without this the leader held every job it ever folded (the
 * soak: ~15 KB a job, rising for as long as the scheduler ran; issue 23 point 7).
 *
 * Kept in memory: a job not terminal, or not quiescent (a process not confirmed stopped); a
 * job with an open dependent (`after`: placement reads its state); a job of a tree (a parent or
 * children: the cascade and the pipelines' runs read it); a job not taken in through the intake
 * (`j<seq>`: pipelines' run and task jobs, which the timekeeper reads). A job let go of is
 * unknown to `peek`; whoever needs it reads it again (`reloadTree`, the intake's references).
 * The order of retirement is the order jobs ended: a FIFO, so the work per tick is what ended.
 */
export class Retirement {
  private readonly queue: { id: string; at: number }[] = [];
  private head = 0;
  private readonly queued = new Set<string>();

  constructor(private readonly deps: RetirementDeps) {}

  /** A job's new state: a terminal one is queued for retirement (once). */
  note(id: string, job: JobSnapshot, now: number): void {
    if (!TERMINAL.has(stateName(job)) || this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push({ id, at: now });
  }

  /** Jobs waiting for their retirement (tests, metrics). */
  get waiting(): number {
    return this.queued.size;
  }

  /**
   * The tick: retire every job held `afterMs` that may go; look again later at the others. Stops
   * early once `spent()` says so, the rest left for the next tick: after a takeover every job the
   * catch-up found ended is due at the same tick (10,000 of them, each with its chunks and
   * workers to let go of), and one pass over them all held the event loop (issue 23).
   */
  tick(now: number, spent: () => boolean = () => false): void {
    const afterMs = this.deps.afterMs ?? RETIRE_AFTER_MS;
    const later: { id: string; at: number }[] = [];
    while (this.head < this.queue.length && !spent()) {
      const next = this.queue[this.head]!;
      if (next.at + afterMs > now) break;
      this.head++;
      const verdict = this.verdict(next.id);
      if (verdict === 'keep') later.push({ id: next.id, at: now });
      else {
        this.queued.delete(next.id);
        if (verdict === 'retire') this.retire(next.id);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.queue.push(...later);
  }

  /** Whether a job may leave memory now, must stay a while, or is no longer a candidate. */
  private verdict(id: string): 'retire' | 'keep' | 'drop' {
    const job = this.deps.peek.job(id);
    if (!job || !TERMINAL.has(stateName(job))) return 'drop';
    const spec = job.context.spec;
    if (!/^j\d+$/.test(id) || spec?.parent !== undefined) return 'drop';
    if (Object.keys(job.context.children).length > 0) return 'drop';
    if (!allQuiescent(job.context)) return 'keep';
    for (const d of this.deps.dependents.get(id) ?? [])
      if (this.deps.openJobs.has(d)) return 'keep';
    return 'retire';
  }

  private retire(id: string): void {
    const { runtime, peek } = this.deps;
    const job = peek.job(id)!;
    for (let i = 0; i < job.context.chunks.total; i++) {
      const cid = chunkId(id, i);
      const attempts = peek.chunk(cid)?.context.attempt ?? 0;
      for (let a = 1; a <= attempts; a++)
        runtime.forget(eventSubject(workerBehaviour.entity, workerId(id, i, a)));
      runtime.forget(eventSubject(chunkBehaviour.entity, cid));
    }
    runtime.forget(eventSubject(jobBehaviour.entity, id));
    this.deps.forgetJob(id, job);
  }
}

/** The job an entity of a job tree belongs to (`j1`, `j1:0`, `j1:0:2`), or undefined. */
export function jobOfTreeEntity(entity: string, id: string): string | undefined {
  if (entity === 'job') return id;
  if (entity === 'chunk') return parseChunkId(id).jobId;
  if (entity === 'worker') return parseChunkId(id.slice(0, id.lastIndexOf(':'))).jobId;
  return undefined;
}

/**
 * Bring a job let go of back into the runtime's cache from the log, with its chunks and their
 * workers, chunks first and the job last: the job's change reaches the rules (through the
 * runtime's `onRefresh`) once its chunks are there again (clearing a job's results clears its
 * chunks'). `missed`: the tail's event that found the entity missing; a cached state older than
 * it is read again (it was read before that event was stored). A job the live log no longer
 * holds (compacted) stays unknown, as it is to a scheduler started after its compaction.
 */
export async function reloadTree(
  runtime: EntityRuntime,
  jobId: string,
  missed?: { readonly entity: string; readonly id: string; readonly seq: number },
): Promise<void> {
  const job = await runtime.read(jobBehaviour, jobId);
  if (stateName(job.state) === 'none') return;
  const fresh = async <S, C>(b: EntityBehaviour<S, C>, id: string) => {
    const cached = runtime.peek(b, id);
    const stale = missed?.entity === b.entity && missed.id === id && cached !== undefined;
    if (cached && !(stale && cached.lastSeq < missed.seq)) return cached;
    runtime.forget(eventSubject(b.entity, id));
    return runtime.load(b, id);
  };
  for (let i = 0; i < job.state.context.chunks.total; i++) {
    const chunk = await fresh(chunkBehaviour, chunkId(jobId, i));
    for (let a = 1; a <= chunk.state.context.attempt; a++)
      await fresh(workerBehaviour, workerId(jobId, i, a));
  }
  const cached = runtime.peek(jobBehaviour, jobId);
  if (cached && cached.lastSeq >= job.lastSeq) return;
  runtime.forget(eventSubject(jobBehaviour.entity, jobId));
  await runtime.load(jobBehaviour, jobId);
}
