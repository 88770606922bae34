/** Stops one run inside an allocation, saying why (its hold ended). */
export type StopRun = (reason: string) => Promise<void>;

/**
 * The allocations this agent holds now (a hold is one chunk of the allocation's job, its
 * placeholder process alive on this node) and the runs started inside each. A run may start
 * only inside a live hold; when the hold ends (its time ran out, it was released or cancelled)
 * every run inside it is stopped. Kept in memory: a restarted agent takes up again the holds
 * whose processes it re-adopted (`AllocHost.readoptHolds`, from the log); the runs of its
 * previous life are not re-adopted (their output went to the agent that died).
 */
export class AllocHolds {
  private readonly holds = new Map<string, Map<string, StopRun>>();

  /** The hold of `alloc` started on this node. */
  start(alloc: string): void {
    if (!this.holds.has(alloc)) this.holds.set(alloc, new Map());
  }

  has(alloc: string): boolean {
    return this.holds.has(alloc);
  }

  /** A run started inside `alloc` (false: no such hold here, the run must not start). */
  adopt(alloc: string, session: string, stop: StopRun): boolean {
    const runs = this.holds.get(alloc);
    if (!runs) return false;
    runs.set(session, stop);
    return true;
  }

  /** The run ended by itself. */
  release(alloc: string, session: string): void {
    this.holds.get(alloc)?.delete(session);
  }

  /** The hold of `alloc` ended: no new runs, and every run inside it stopped with `reason`. */
  async end(alloc: string, reason: string): Promise<void> {
    const runs = this.holds.get(alloc);
    this.holds.delete(alloc);
    await Promise.all([...(runs?.values() ?? [])].map((stop) => stop(reason)));
  }
}
