import type { Logger } from 'pino';
import type { Action, Peek } from './rules.js';
import { notesDiffer } from './work-messages.js';

/** Note appends in flight at most: a round that finds 100,000 jobs newly waiting queues plain data. */
export const NOTES_IN_FLIGHT = 64;

/**
 * A pending note as offered to the writer: the job, its reasons now, and its action, built only
 * when its turn comes (a round that finds 100,000 jobs newly waiting offers 100,000 notes, and an
 * action built up front held each job's `ahead` list, ~1.5 KB, until written; a builder holds
 * the round's compact queue positions). The builder may return none (the job is gone).
 */
export interface NoteOffer {
  readonly jobId: string;
  readonly reasons: readonly { code: string }[];
  readonly action: () => Action | undefined;
}

export interface PendingNotesDeps {
  readonly peek: Peek;
  /** One action through the one write path; settles when appended or refused. */
  readonly exec: (a: Action) => Promise<void>;
  readonly logger: Logger;
  readonly limit?: number;
  /**
   * Told when a burst of at least `BURST` notes has been written (none waits, none in flight):
   * the moment the process may give the burst's memory back (`HeapRelease`).
   */
  readonly drained?: (notes: number) => void;
}

/** A backlog this large is a burst worth telling `drained` about. */
export const BURST = 1000;

/**
 * The writer of `job.pending_noted`. A round with reasons may find every queued job's reasons new
 * (a day's work submitted at once): firing all those appends together held ~6 KB of promises,
 * closures and buffers per job until they landed, and the heap's high-water mark stayed in the
 * process's RSS (20,000 queued jobs: 215 MB live at the burst against 98 MB settled). Here at most
 * `limit` appends are in flight; the rest wait as the round's plain actions, one per job: a newer
 * round's note for a job replaces the waiting one (in its place in line), and a note whose reasons
 * the job already holds when its turn comes is dropped. Notes are level-triggered history (the log
 * records changes of reasons), so a late note loses nothing.
 */
export class PendingNotes {
  private readonly waiting = new Map<string, NoteOffer>();
  private active = 0;
  /** The largest backlog since the queue last drained. */
  private peak = 0;

  constructor(private readonly deps: PendingNotesDeps) {}

  /** Notes waiting for their turn (not counting those in flight). */
  get backlog(): number {
    return this.waiting.size;
  }

  /** Notes offered and not yet written: waiting for their turn or in flight. */
  get unwritten(): number {
    return this.waiting.size + this.active;
  }

  offer(notes: readonly NoteOffer[]): void {
    for (const n of notes) this.waiting.set(n.jobId, n);
    this.peak = Math.max(this.peak, this.waiting.size);
    this.pump();
  }

  private pump(): void {
    const limit = this.deps.limit ?? NOTES_IN_FLIGHT;
    for (const [jobId, note] of this.waiting) {
      if (this.active >= limit) return;
      this.waiting.delete(jobId);
      const job = this.deps.peek.job(jobId);
      if (!job || !notesDiffer(job.context.pending?.reasons, note.reasons)) continue;
      const action = note.action();
      if (!action) continue;
      this.active++;
      this.deps
        .exec(action)
        .catch((err: unknown) => this.deps.logger.error({ err, job: jobId }, 'pending note failed'))
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
    if (this.active === 0 && this.waiting.size === 0) {
      const burst = this.peak;
      this.peak = 0;
      if (burst >= BURST) this.deps.drained?.(burst);
    }
  }
}
