import { stateName } from '../actors/index.js';
import { chunkId, parseChunkId } from '../events/index.js';
import type { Change } from './entity-view.js';
import { TURN_BUDGET_MS } from './turns.service.js';
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

/** Jobs of a sweep marked at a time (each with its chunks and unsettled children). */
const SWEEP_JOBS = 64;

const realRules: RuleSet = { chunk: chunkRules, job: jobRules, clear: clearChunks };

export interface RulesPumpDeps {
  readonly peek: Peek;
  /** Job id → jobs that run `after` it (they must hear when it ends). */
  readonly dependents: ReadonlyMap<string, ReadonlySet<string>>;
  readonly context: () => RuleContext;
  /** Runs what the rules ask for (the pump never writes itself). */
  readonly run: (actions: Action[]) => void;
  readonly rules?: RuleSet;
  /** How long one drain may hold the event loop (ms; default `TURN_BUDGET_MS`). */
  readonly budgetMs?: number;
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
  /** The open jobs of a sweep under way, marked from `swept` on as drains come. */
  private sweeping: string[] = [];
  private swept = 0;
  /** The open jobs of a sweep asked for while one was under way: swept after it. */
  private sweepNext: Iterable<string> | undefined;
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
   * parent stayed running for ever (the 10,000-job chaos run, issue 23). The jobs are marked a
   * few at a time as drains come (`drain`): marking 10,000 jobs' chunks was a stall of its own.
   * A sweep asked for while one is under way runs after it (starting it over each time would
   * leave the last jobs of a long one unswept while sweeps keep being asked for).
   */
  sweep(openJobs: Iterable<string>): void {
    if (this.swept < this.sweeping.length) this.sweepNext = openJobs;
    else this.startSweep(openJobs);
  }

  private startSweep(openJobs: Iterable<string>): void {
    this.sweeping = [...openJobs];
    this.swept = 0;
    this.cascaded.clear();
    this.schedule();
  }

  /** Mark the next `count` jobs of the sweep under way; false when none was left. */
  private sweepSome(count: number): boolean {
    if (this.swept >= this.sweeping.length) {
      this.sweeping = [];
      this.swept = 0;
      const next = this.sweepNext;
      if (next === undefined) return false;
      this.sweepNext = undefined;
      this.startSweep(next);
    }
    const end = Math.min(this.swept + count, this.sweeping.length);
    for (; this.swept < end; this.swept++) {
      const jobId = this.sweeping[this.swept]!;
      this.dirty.add(`job:${jobId}`);
      const job = this.deps.peek.job(jobId);
      const total = job?.context.chunks.total ?? 0;
      for (let i = 0; i < total; i++) this.dirty.add(`chunk:${chunkId(jobId, i)}`);
      for (const [child, settled] of Object.entries(job?.context.children ?? {}))
        if (!settled?.quiescent) this.dirty.add(`job:${child}`);
    }
    return true;
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

  /**
   * Put the dirty entities (and a sweep's jobs) to the rules now, for at most `TURN_BUDGET_MS`;
   * what is left waits for the next turn of the event loop (`schedule`). A takeover's sweep of
   * 10,000 live jobs put to the rules at once held the event loop, the lease's renewal timer
   * with it (issue 23). Rules are level-triggered: an entity put to them a turn later reads its
   * state then, which is what it would have met had it changed then.
   */
  drain(): void {
    const ctx = this.deps.context();
    const until = performance.now() + (this.deps.budgetMs ?? TURN_BUDGET_MS);
    do {
      for (const key of this.dirty) {
        this.dirty.delete(key);
        const at = key.indexOf(':');
        const id = key.slice(at + 1);
        if (key.startsWith('chunk:')) this.deps.run(this.rules.chunk(ctx, id));
        else this.jobRules(ctx, id);
        if (performance.now() >= until) {
          if (this.dirty.size > 0 || this.sweeping.length > 0) this.schedule();
          return;
        }
      }
    } while (this.sweepSome(SWEEP_JOBS));
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
