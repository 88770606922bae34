/**
 * Job id → indices of its chunks that wait for a placement: the scheduler's queue, one entry per
 * waiting job. Most waiting jobs have one waiting chunk, held as a plain number; a Set only for
 * jobs with several (a Set per job was ~150 bytes of hash table for one index, and the scheduler
 * keeps an entry per queued job: 100,000 of them against an empty farm).
 */
export class WaitingChunks {
  private readonly byJob = new Map<string, number | Set<number>>();

  /** How many jobs have a waiting chunk. */
  get size(): number {
    return this.byJob.size;
  }

  /** Jobs with a waiting chunk, in the order they first had one. */
  keys(): IterableIterator<string> {
    return this.byJob.keys();
  }

  has(jobId: string): boolean {
    return this.byJob.has(jobId);
  }

  /** The job's waiting chunk indices (a fresh array), or undefined when none waits. */
  get(jobId: string): readonly number[] | undefined {
    const w = this.byJob.get(jobId);
    return w === undefined ? undefined : typeof w === 'number' ? [w] : [...w];
  }

  /**
   * The job's waiting chunk indices as held, without a copy: a number for one, a Set (of two or
   * more) for several; undefined when none waits. Read-only: the round walks every waiting job.
   */
  indices(jobId: string): number | ReadonlySet<number> | undefined {
    return this.byJob.get(jobId);
  }

  *[Symbol.iterator](): IterableIterator<[string, readonly number[]]> {
    for (const [jobId, w] of this.byJob) yield [jobId, typeof w === 'number' ? [w] : [...w]];
  }

  /** Chunk `index` of `jobId` waits; false when it already did. */
  add(jobId: string, index: number): boolean {
    const w = this.byJob.get(jobId);
    if (w === undefined) this.byJob.set(jobId, index);
    else if (typeof w === 'number') {
      if (w === index) return false;
      this.byJob.set(jobId, new Set([w, index]));
    } else {
      if (w.has(index)) return false;
      w.add(index);
    }
    return true;
  }

  /** Chunk `index` of `jobId` no longer waits; false when it did not. */
  delete(jobId: string, index: number): boolean {
    const w = this.byJob.get(jobId);
    if (w === undefined) return false;
    if (typeof w === 'number') {
      if (w !== index) return false;
      this.byJob.delete(jobId);
      return true;
    }
    if (!w.delete(index)) return false;
    if (w.size === 1) this.byJob.set(jobId, w.values().next().value as number);
    return true;
  }
}
