import type { Resources } from '../events/index.js';

/** How a launch's wait for room ended. */
export type Turn =
  /** There is room: the launch may start (it holds its request until `release`). */
  | { readonly kind: 'go'; readonly waited: boolean }
  /** A kill for the worker came while it waited: it must not start (it holds nothing). */
  | { readonly kind: 'dropped' }
  /** The agent is stopping: the launch goes back to the queue for its next life. */
  | { readonly kind: 'closed' };

interface Waiter {
  readonly worker: string;
  readonly request: Resources;
  readonly resolve: (t: Turn) => void;
}

const fits = (free: Resources, r: Resources) =>
  r.cpus <= free.cpus && r.memMb <= free.memMb && r.gpus <= free.gpus;

/**
 * The node's own check that its processes fit it, at the moment each one starts. With a
 * pipelining scheduler (`DROVER_PIPELINE`) a node is given up to a second round of work while
 * its slots are full: the launches wait here, first come first started (the scheduler sent them
 * in its queue's order, so fair-share order holds within the window), and a process's exit
 * starts the next at once instead of after a round trip through the log and a placement round.
 * Without pipelining nothing ever waits (the scheduler places only into free room).
 *
 * The room is the node's capacity less what its processes hold, counted from a process's start
 * (or re-adoption) to its exit, not to its end in the log. No I/O, no clock: the agent calls it.
 */
export class SlotGate {
  private readonly held = new Map<string, Resources>();
  private readonly waiting: Waiter[] = [];
  /**
   * Kills that came before their launch took its place in line (both messages were on their
   * way at once): that launch is dropped as it asks. Bounded: a kill of a worker that never
   * comes (it ended, or runs elsewhere) would otherwise stay; a stale entry costs one read.
   */
  private readonly killedEarly = new Set<string>();
  private closed = false;

  constructor(private readonly capacity: Resources) {}

  /** Room for `request` now, or when processes before it have exited (first come first in). */
  acquire(worker: string, request: Resources): Promise<Turn> {
    if (this.closed) return Promise.resolve({ kind: 'closed' });
    if (this.held.has(worker)) return Promise.resolve({ kind: 'go', waited: false });
    if (this.killedEarly.delete(worker)) return Promise.resolve({ kind: 'dropped' });
    if (this.waiting.length === 0 && this.fitsNow(request)) {
      this.held.set(worker, request);
      return Promise.resolve({ kind: 'go', waited: false });
    }
    return new Promise((resolve) => this.waiting.push({ worker, request, resolve }));
  }

  /** A process runs for `worker` that took no turn (re-adopted after a restart). */
  occupy(worker: string, request: Resources): void {
    this.held.set(worker, request);
  }

  /** The worker's process is gone (or never started): its room goes to the next in line. */
  release(worker: string): void {
    if (this.held.delete(worker)) this.admit();
  }

  /**
   * A kill for a waiting worker: it leaves the line without starting. A worker neither waiting
   * nor holding room is remembered, so its launch, if it comes next, is dropped as it asks.
   * False if it was not waiting.
   */
  drop(worker: string): boolean {
    const i = this.waiting.findIndex((w) => w.worker === worker);
    if (i < 0) {
      if (!this.held.has(worker)) this.rememberKill(worker);
      return false;
    }
    const [w] = this.waiting.splice(i, 1);
    w?.resolve({ kind: 'dropped' });
    this.admit(); // a large launch at the head may have kept smaller ones behind it
    return true;
  }

  private rememberKill(worker: string): void {
    if (this.killedEarly.size >= 1024) {
      const oldest = this.killedEarly.values().next().value;
      if (oldest !== undefined) this.killedEarly.delete(oldest);
    }
    this.killedEarly.add(worker);
  }

  /** True while `worker` waits for room. */
  isWaiting(worker: string): boolean {
    return this.waiting.some((w) => w.worker === worker);
  }

  /** Launches waiting for room now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The agent stops: every waiting launch is turned back (unacknowledged, it comes back). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.resolve({ kind: 'closed' });
  }

  /**
   * Fits the room left, or the node runs nothing: a request larger than the node (its agent was
   * restarted with less) starts alone rather than wait for ever, as it did before this gate.
   */
  private fitsNow(request: Resources, free = this.free()): boolean {
    return this.held.size === 0 || fits(free, request);
  }

  private free(): Resources {
    const f = { ...this.capacity };
    for (const r of this.held.values()) {
      f.cpus -= r.cpus;
      f.memMb -= r.memMb;
      f.gpus -= r.gpus;
    }
    return f;
  }

  /**
   * Start waiting launches in order while the head fits. The head is never overtaken: a smaller
   * launch behind a large one waits too, as the scheduler's order asked (no reordering here).
   */
  private admit(): void {
    const free = this.free();
    while (this.waiting.length > 0 && this.fitsNow(this.waiting[0]!.request, free)) {
      const w = this.waiting.shift()!;
      this.held.set(w.worker, w.request);
      free.cpus -= w.request.cpus;
      free.memMb -= w.request.memMb;
      free.gpus -= w.request.gpus;
      w.resolve({ kind: 'go', waited: true });
    }
  }
}
