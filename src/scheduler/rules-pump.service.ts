import { stateName } from '../actors/index.js';
import { chunkId, parseChunkId } from '../events/index.js';
import type { Change } from './entity-view.js';
import {
  chunkRules,
  clearChunks,
  jobRules,
  type Action,
  type Peek,
  type RuleContext,
} from './rules.js';

/** The rules a pump runs (the real ones by default; a test may pass its own). */
export interface RuleSet {
  chunk(ctx: RuleContext, id: string): Action[];
  job(ctx: RuleContext, id: string, cascaded: boolean): Action[];
  clear(ctx: RuleContext, id: string): Action[];
}

const realRules: RuleSet = { chunk: chunkRules, job: jobRules, clear: clearChunks };

export interface RulesPumpDeps {
  readonly peek: Peek;
  /** Job id → jobs that run `after` it (they must hear when it ends). */
  readonly dependents: ReadonlyMap<string, ReadonlySet<string>>;
  readonly context: () => RuleContext;
  /** Runs what the rules ask for (the pump never writes itself). */
  readonly run: (actions: Action[]) => void;
  readonly rules?: RuleSet;
}

/**
 * The rules pump: changed entities are marked dirty, and soon after (once per turn of the event
 * loop, however many changes came in it) each dirty job and chunk is put to the rules, whose
 * actions go to `run`. Level-triggered: the rules read the current state, so marking twice or
 * sweeping everything again is harmless, which is how a takeover finishes its predecessor's work.
 * Its own state is the dirty set and what was already cascaded or cleared.
 */
export class RulesPump {
  private readonly dirty = new Set<string>();
  private readonly cascaded = new Set<string>();
  private readonly cleared = new Set<string>();
  private scheduled = false;
  private readonly rules: RuleSet;

  constructor(private readonly deps: RulesPumpDeps) {
    this.rules = deps.rules ?? realRules;
  }

  /** Mark what a new state concerns: the entity, its job, its parent and dependent jobs. */
  mark(c: Change): void {
    switch (c.entity) {
      case 'job':
        this.dirty.add(`job:${c.id}`);
        if (c.state.context.spec?.parent) this.dirty.add(`job:${c.state.context.spec.parent}`);
        for (const dependent of this.deps.dependents.get(c.id) ?? [])
          this.dirty.add(`job:${dependent}`);
        break;
      case 'chunk':
        this.dirty.add(`chunk:${c.id}`);
        this.dirty.add(`job:${parseChunkId(c.id).jobId}`);
        break;
      case 'worker':
        this.dirty.add(`chunk:${c.id.slice(0, c.id.lastIndexOf(':'))}`);
        break;
      case 'node':
      case 'calendar':
      case 'reservation':
      case 'alert':
      case 'session':
      case 'promise':
        break;
    }
  }

  /**
   * Every open job and its chunks, again: what is owed is done again (command ids dedupe it).
   * With them the children an open parent still waits for: a child tells its parent it settled
   * (or quiesced) from its own rules, which ran once when it ended; if that append was skipped
   * (writes paused, a leader killed), the ended child is no open job of any sweep, and its
   * parent stayed running for ever (the 10,000-job chaos run, issue 23).
   */
  sweep(openJobs: Iterable<string>): void {
    for (const jobId of openJobs) {
      this.dirty.add(`job:${jobId}`);
      const job = this.deps.peek.job(jobId);
      const total = job?.context.chunks.total ?? 0;
      for (let i = 0; i < total; i++) this.dirty.add(`chunk:${chunkId(jobId, i)}`);
      for (const [child, settled] of Object.entries(job?.context.children ?? {}))
        if (!settled?.quiescent) this.dirty.add(`job:${child}`);
    }
    this.cascaded.clear();
    this.schedule();
  }

  /** Run the rules on the next turn of the event loop (coalesces changes within one turn). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Put every dirty entity to the rules now. */
  drain(): void {
    const ctx = this.deps.context();
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const at = key.indexOf(':');
      const id = key.slice(at + 1);
      if (key.startsWith('chunk:')) this.deps.run(this.rules.chunk(ctx, id));
      else this.jobRules(ctx, id);
    }
  }

  private jobRules(ctx: RuleContext, id: string): void {
    this.deps.run(this.rules.job(ctx, id, this.cascaded.has(id)));
    const job = this.deps.peek.job(id);
    // A cancelling job's cascade goes out once per sweep; a cleared job's chunks once ever.
    if (job && stateName(job) === 'cancelling') this.cascaded.add(id);
    if (job?.context.resultsCleared && !this.cleared.has(id)) {
      this.cleared.add(id);
      this.deps.run(this.rules.clear(ctx, id));
    }
  }

  /** A job let go of by the scheduler's memory: if it comes back, its clear is looked at again. */
  forget(jobId: string): void {
    this.cleared.delete(jobId);
  }

  /** Keys waiting for the next drain (for tests and diagnostics). */
  pending(): string[] {
    return [...this.dirty];
  }
}
