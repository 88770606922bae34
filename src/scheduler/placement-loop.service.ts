import type { Logger } from 'pino';
import type {
  FairShareConfig,
  Placement,
  ReservationGate,
  ResourceVector,
  RoundGate,
} from '../policy/index.js';
import type { FarmIndex } from './farm-index.js';
import { planRoundSteps, stillPlaceable, type RoundOutput } from './placement-round.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';
import type { Peek, RuleContext } from './rules.js';
import type { NoteOffer } from './pending-notes.js';
import { notesDiffer, pendingAction } from './work-messages.js';
import { STEP_ITEMS, type Steps } from '../policy/index.js';
import { runInTurns, timed } from './turns.service.js';

/** Placements awaiting their `chunk.assigned` append, at most (rounds pause above it). */
export const MAX_IN_FLIGHT = 8_192;

/**
 * A quiet queue is planned again at least this often, even when nothing a round could see changed:
 * users' decayed usage reorders the queue with time alone, which can change a note's `Priority`
 * reason (never a placement: see `PlacementLoop.tick`).
 */
export const QUIET_REFRESH_MS = 60_000;

/**
 * A step between a round's plan and its placements: it may drop or reorder placements (never
 * add one: the plan already checked fit and reserved nothing yet). This is the seam for the
 * admission a later issue adds (quotas, reservations, start-by promises): pure policy from
 * `src/policy/`, given the plan and `now`, e.g. `(plan, now) => plan.placements.filter(admitted)`.
 * Steps run in order, each on the previous one's result. None today.
 */
export type AdmissionStep = (plan: RoundOutput, now: number) => Placement[];

export interface PlacementLoopDeps {
  readonly peek: Peek;
  readonly index: FarmIndex;
  readonly config: FairShareConfig;
  /** The config in force now (the log's policy version over `config`); default `config`. */
  readonly configNow?: () => FairShareConfig;
  readonly clock: () => number;
  /** True while this scheduler leads and runs. */
  readonly canWrite: () => boolean;
  readonly context: () => RuleContext;
  /** Writes the pending notes of a round (each built when its turn comes: `PendingNotes`). */
  readonly run: (notes: NoteOffer[]) => void;
  /**
   * Appends `chunk.assigned` and publishes the launch; settles when done (or refused). Undefined
   * when the chunk or its job is not folded: nothing is reserved for it then.
   */
  readonly assign: (p: Placement) => Promise<void> | undefined;
  readonly admission?: readonly AdmissionStep[];
  /** The reservation gate of a round at `now` (none: nothing reserved). */
  readonly gate?: (now: number) => ReservationGate | undefined;
  /**
   * The round's gate (quotas): holds tasks back inside the plan, before they take capacity, which
   * an admission step after the plan cannot do. Given the chunks in flight; none by default.
   */
  readonly quotaGate?: (now: number, inFlight: ReadonlySet<string>) => RoundGate | undefined;
  /**
   * The users' standing exclusions in force now (the log's `policy` entity `exclusions`), as a
   * lookup by user that does not change afterwards: a round reads those of its start.
   */
  readonly exclusionsNow?: () => (user: string) => readonly string[] | undefined;
  /** Jobs with a pending start-by promise (placed first). */
  readonly promised?: () => ReadonlySet<string>;
  /**
   * Pipelining (`RoundInput.pipeline`): nodes take a second round of work that their agents
   * start as slots free. Off in any round with a quota, a reservation or a start-by promise in
   * force: those are checked when a chunk is placed, and a pre-assigned chunk starts later.
   */
  readonly pipeline?: boolean;
  /** Where each round's duration and reasons are reported. */
  readonly metrics?: SchedulerMetrics;
  /**
   * Told after a quiet round that noted nothing new (the queue's refresh, at least once a minute),
   * with the queue's length: its garbage is the whole queue's tasks and reasons, and the idle
   * scheduler would keep it (`HeapRelease`).
   */
  readonly quietRound?: (queueLength: number) => void;
  /**
   * How long a round may hold the event loop before it goes on over later turns (ms; default
   * `TURN_BUDGET_MS`). Tests that read a round's result right after `round()` pass Infinity.
   */
  readonly turnBudgetMs?: number;
  readonly logger: Logger;
}

/**
 * The placement loop: at most one round at a time, soon after something a round could see has
 * changed (the index's generation moved), and once a second anyway (backoffs expire, reasons
 * refresh). Its own state is what it promised and not yet saw folded: capacity reserved per node
 * and the chunks in flight, so the next round neither double-books a node nor places a chunk
 * twice. Pending reasons are written at most once a second.
 */
export class PlacementLoop {
  readonly reserved = new Map<string, ResourceVector>();
  readonly inFlight = new Set<string>();
  /** Where each chunk in flight goes: a spread job's next chunk keeps off that node. */
  readonly inFlightNodes = new Map<string, string>();
  private wanted = false;
  private running = false;
  private live = false;
  private lastReasonsAt = 0;
  /** The index's generation the last round saw: a change that leaves it needs no new round. */
  private generation = -1;
  /**
   * Set by a round that placed nothing and had no time-based gate: until `until` (the soonest
   * retry backoff to expire, or the quiet refresh) a round on the same generation would place
   * nothing either, so the tick skips it. Undefined: the next tick plans.
   */
  private quiet: { readonly generation: number; readonly until: number } | undefined;
  /** Ticks that skipped their round (a quiet queue; tests and metrics read it). */
  skipped = 0;

  constructor(private readonly deps: PlacementLoopDeps) {}

  /** Rounds may run from now on (after catch-up: rounds on a half-folded log would mislead). */
  start(): void {
    this.live = true;
    this.request();
  }

  /** Ask for a round; rounds asked for while one runs coalesce into one after it. */
  request(): void {
    this.wanted = true;
    if (this.live && !this.running) setImmediate(() => this.round());
  }

  /** Ask for a round only if the index changed in a way a round could see. */
  requestIfChanged(): void {
    if (this.deps.index.generation !== this.generation) this.request();
  }

  /**
   * The once-a-second tick: a round, unless the last one (with reasons) left the queue quiet and
   * nothing it could see has changed since. Why a skipped round would place nothing: the last round placed nothing,
   * so every task failed to fit the farm as it was, each on its own (a round takes capacity only
   * by placing); with the same generation the farm, the jobs, their waiting chunks and the policy
   * are the same, nothing is in flight, and no gate that moves with time alone was in force
   * (quotas' launch windows, reservations' windows, start-by promises, retry backoffs before
   * `until`). Only the order can move (decayed usage), and order cannot make a lone misfit fit.
   * A queue of 100,000 jobs against an empty farm cost ~30 MB of garbage per round, every second.
   */
  tick(now: number): void {
    // A round spread over turns is under way: it is as recent as this tick, and a change it
    // could not see asks for the next one (`requestIfChanged`). Asking here would plan again
    // right after it, also when it found the queue quiet.
    if (this.running) return;
    const q = this.quiet;
    const stillQuiet =
      q !== undefined &&
      q.generation === this.deps.index.generation &&
      now < q.until &&
      this.inFlight.size === 0;
    if (stillQuiet) this.skipped++;
    else this.request();
  }

  /**
   * One round now, if one is wanted and may run. It runs in steps, `TURN_BUDGET_MS` at a time
   * (`runInTurns`): a round over 100,000 queued jobs took seconds on a loaded machine, and held
   * the event loop, the lease's renewal timer with it, the whole time (issue 23). A small round
   * ends before this returns; a large one goes on over later turns, one round at a time.
   */
  round(): void {
    if (!this.wanted || this.running || !this.deps.canWrite()) return;
    this.wanted = false;
    this.running = true;
    this.quiet = undefined;
    this.generation = this.deps.index.generation;
    const now = this.deps.clock();
    // Reasons are due once a second, whether or not this round goes on to plan: a skipped round
    // takes its turn too (as before the split), so rounds with reasons stay at most one a second.
    const reasons = now - this.lastReasonsAt >= 1000;
    if (reasons) this.lastReasonsAt = now;
    const failed = (err: unknown) => this.deps.logger.error({ err }, 'round failed');
    const ended = () => {
      this.running = false;
      if (this.wanted) setTimeout(() => this.round(), 2);
    };
    let later: Promise<void> | undefined;
    try {
      // At most MAX_IN_FLIGHT placements await their append: the round after sees them placed.
      // A round costs the whole queue, so wait until half the window is free before the next.
      if (this.inFlight.size <= MAX_IN_FLIGHT / 2)
        later = runInTurns(this.plan(now, reasons), this.deps.turnBudgetMs);
    } catch (err) {
      failed(err);
    }
    if (later) later.catch(failed).finally(ended);
    else ended();
  }

  private *plan(now: number, reasons: boolean): Steps<void> {
    const { deps } = this;
    const spent = { ms: 0 };
    const quotaGate = deps.quotaGate?.(now, this.inFlight);
    const reservationGate = deps.gate?.(now);
    const promising = deps.promised?.();
    const promised = promising && new Set(promising);
    const pipeline =
      deps.pipeline === true && !quotaGate && !reservationGate && (promised?.size ?? 0) === 0;
    const inFlightAtStart = this.inFlight.size;
    // Copies: the round's view of its own promises must not move under it between its steps.
    const steps = planRoundSteps({
      ...(quotaGate && { quotaGate }),
      ...(reservationGate && { gate: reservationGate }),
      ...(deps.exclusionsNow && { standingExclusions: deps.exclusionsNow() }),
      peek: deps.peek,
      index: deps.index,
      config: deps.configNow?.() ?? deps.config,
      now,
      reserved: copyReserved(this.reserved),
      inFlight: new Set(this.inFlight),
      inFlightNodes: new Map(this.inFlightNodes),
      reasons,
      maxPlacements: MAX_IN_FLIGHT - inFlightAtStart,
      ...(promised && { promised }),
      ...(pipeline && { pipeline }),
    });
    const out = yield* timed(steps, spent);
    const timeBound = quotaGate || reservationGate || (promised?.size ?? 0) > 0;
    // Only a round with reasons: a quiet queue's notes are those of its last planned round.
    if (reasons && out.placements.length === 0 && !timeBound && inFlightAtStart === 0)
      this.quiet = {
        generation: this.generation,
        until: Math.min(out.wakeAt ?? Infinity, now + QUIET_REFRESH_MS),
      };
    deps.metrics?.round(spent.ms / 1000, reasons ? out.pending : undefined, deps.peek.job);
    yield;
    let placements = out.placements;
    for (const admit of deps.admission ?? []) placements = admit({ ...out, placements }, now);
    // A round spread over turns may end after the lease's renewal came late (writes paused) or
    // after its node or job changed: what may not be placed now waits for the next round.
    if (placements.length > 0 && !deps.canWrite()) {
      this.wanted = true;
      return;
    }
    for (let i = 0; i < placements.length; i++) {
      if (i % STEP_ITEMS === STEP_ITEMS - 1) yield;
      const p = placements[i]!;
      if (stillPlaceable(deps.peek, p)) this.place(p);
      else this.wanted = true;
    }
    yield* this.notes(out);
  }

  /** The round's pending notes that differ from what each job holds now, to the writer. */
  private *notes(out: RoundOutput): Steps<void> {
    const { deps } = this;
    const ctx = deps.context();
    const written: NoteOffer[] = [];
    let seen = 0;
    for (const [jobId, note] of out.pending) {
      if (++seen % STEP_ITEMS === 0) yield;
      const job = deps.peek.job(jobId);
      if (!job || !notesDiffer(job.context.pending?.reasons, note.reasons)) continue;
      const action = () => pendingAction(ctx, jobId, note, out.queueLength, out.ahead);
      written.push({ jobId, reasons: note.reasons, action });
    }
    deps.run(written);
    if (this.quiet && written.length === 0) deps.quietRound?.(out.queueLength);
  }

  private place(p: Placement): void {
    const { task, node } = p;
    const assigned = this.deps.assign(p);
    if (!assigned) return;
    this.inFlight.add(task.id);
    this.inFlightNodes.set(task.id, node);
    this.reserve(node, task.request, 1);
    assigned
      .catch((err: unknown) => this.deps.logger.error({ err, chunk: task.id }, 'placement failed'))
      .finally(() => {
        this.inFlight.delete(task.id);
        this.inFlightNodes.delete(task.id);
        this.reserve(node, task.request, -1);
        this.request();
      });
  }

  private reserve(node: string, r: ResourceVector, sign: 1 | -1): void {
    const cur = this.reserved.get(node) ?? { cpus: 0, memMb: 0, gpus: 0 };
    cur.cpus += sign * r.cpus;
    cur.memMb += sign * r.memMb;
    cur.gpus += sign * r.gpus;
    this.reserved.set(node, cur);
  }
}

/** The loop's reservations as they are now: the round reads them, the loop goes on updating. */
function copyReserved(reserved: ReadonlyMap<string, ResourceVector>): Map<string, ResourceVector> {
  const out = new Map<string, ResourceVector>();
  for (const [node, r] of reserved) out.set(node, { ...r });
  return out;
}
