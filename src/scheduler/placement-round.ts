import { stateName } from '../actors/index.js';
import type { PendingReason } from '../events/index.js';
import type { FarmIndex } from './farm-index.js';
import {
  historyAt,
  placeRoundSteps,
  queueOrderSteps,
  runSteps,
  STEP_ITEMS,
  type FairShareConfig,
  type NodeLifecycle,
  type NodeState,
  type Placement,
  type GateVerdict,
  type ReservationGate,
  type ResourceVector,
  type RoundGate,
  type Steps,
  type Task,
} from '../policy/index.js';
import type { Peek } from './rules.js';
import { AheadIndex } from './ahead-index.js';
import {
  AGGREGATE_ABOVE,
  countByJob,
  parentClosed,
  placeableBound,
  runningTasks,
  waitingTasks,
  type FreshReads,
} from './round-tasks.js';

export { AGGREGATE_ABOVE } from './round-tasks.js';

export interface RoundInput {
  readonly peek: Peek;
  readonly index: FarmIndex;
  readonly now: number;
  readonly config: FairShareConfig;
  /** Capacity promised to placements whose `chunk.assigned` is not folded yet, by node. */
  readonly reserved: ReadonlyMap<string, ResourceVector>;
  /** Chunks being placed right now (skip them). */
  readonly inFlight: ReadonlySet<string>;
  /** The node each chunk in flight goes to (a spread job's other chunks keep off it). */
  readonly inFlightNodes?: ReadonlyMap<string, string>;
  readonly reasons: boolean;
  /**
   * Jobs with more waiting chunks than this (all fresh) are given as the tasks the round could
   * place and one aggregate (`AGGREGATE_ABOVE` by default; tests compare against Infinity).
   */
  readonly aggregateAbove?: number;
  /** Stop after this many placements (the service bounds placements awaiting their append). */
  readonly maxPlacements?: number;
  /** Keeps jobs off reserved nodes (reservations); none: every job may use every node. */
  readonly gate?: ReservationGate;
  /** Holds tasks back before placement (quotas: `createQuotaGate`); none by default. */
  readonly quotaGate?: RoundGate;
  /** A user's standing exclusions (`drover exclusions`): nodes never given the user's jobs. */
  readonly standingExclusions?: (user: string) => readonly string[] | undefined;
  /** Jobs with a pending start-by promise: placed first, ahead of fair-share order. */
  readonly promised?: ReadonlySet<string>;
  /**
   * Pipelining: a ready node takes up to a second round of work while its slots are full (its
   * agent starts each at a process's exit, `SlotGate`). Fit is against the node's capacity with
   * up to one capacity's worth of its live work discounted; the fair-share order (the queue's
   * capacity) and every reason stay those of the real farm.
   */
  readonly pipeline?: boolean;
}

/** A waiting job's reasons in a round, and where its first waiting task stands in the queue. */
export interface RoundNote {
  readonly reasons: readonly PendingReason[];
  readonly rank?: number;
  /** Index of the job's first waiting task in the round's queue (none: blocked, not queued). */
  readonly at?: number;
}

export interface RoundOutput {
  readonly placements: Placement[];
  /**
   * Per waiting job: every reason that applies now, and its place in the queue (`at`, the index
   * in the round's queue, for `ahead`). Reason lists may be shared between jobs: read-only.
   */
  readonly pending: Map<string, RoundNote>;
  /**
   * The other users ahead of a waiting job (its note's `ahead`), built on demand: only the notes
   * that get written need it (see `AheadIndex`).
   */
  readonly ahead: (note: RoundNote, user: string) => { user: string; dru: number }[];
  readonly queueLength: number;
  /** The soonest retry backoff among the round's tasks to expire after `now` (none: undefined). */
  readonly wakeAt?: number;
}

/** Nodes as the policy sees them: capacity, labels, use (live chunks plus reservations). */
export function nodeStates(
  peek: Peek,
  index: FarmIndex,
  reserved: ReadonlyMap<string, ResourceVector>,
  pipeline = false,
): NodeState[] {
  const out: NodeState[] = [];
  for (const id of index.nodes) {
    const node = peek.node(id);
    if (!node || stateName(node) === 'none') continue;
    const { cpus, memMb, gpus } = node.context;
    const used = { ...index.used(id) };
    const r = reserved.get(id);
    if (r) {
      used.cpus += r.cpus;
      used.memMb += r.memMb;
      used.gpus += r.gpus;
    }
    if (pipeline) {
      // The window: as much again as the node holds waits on it for a slot.
      used.cpus = Math.max(0, used.cpus - cpus);
      used.memMb = Math.max(0, used.memMb - memMb);
      used.gpus = Math.max(0, used.gpus - gpus);
    }
    out.push({
      id,
      state: stateName(node) as NodeLifecycle,
      capacity: { cpus, memMb, gpus },
      used,
      labels: node.context.labels,
    });
  }
  return out;
}

/** Waiting jobs read between two yields of a round (each may give several tasks). */
const STEP_JOBS = 128;

/**
 * One scheduling round (pure given its input, but for the running jobs' queue groups it caches
 * in the index, which the index drops whenever their job changes): every open job's waiting chunks and running
 * chunks in the fair-share queue, placed from the front with backfill; jobs held or waiting on
 * dependencies are not placed and get their reasons.
 */
export function planRound(input: RoundInput): RoundOutput {
  return runSteps(planRoundSteps(input));
}

/**
 * `planRound` as steps (`Steps`), for a round spread over turns of the event loop: run back to
 * back it is `planRound`. Between its steps the farm moves on (the tail folds events, appends
 * land); what the round's decisions rest on is read so that they stay those of one view:
 * - In its first step, before any yield, as copies: the nodes (state, capacity, labels, live use
 *   plus `reserved`), the running groups, and which jobs wait. Users' decayed usage is read for
 *   every user of the round in one step before ranking. The caller passes `reserved`,
 *   `inFlight` and `inFlightNodes` as copies too (the placement loop does).
 * - Each waiting job is read whole (the job, its chunks, its dependencies) in one step, as it is
 *   then. A job that changed since is judged as it is now: its chunk's `chunk.assigned` append
 *   is conditional on the chunk's last sequence and refused unless the chunk still waits.
 * - Capacity only grows between the steps: only the placement loop takes capacity and it plans
 *   one round at a time; what ends frees some, and a chunk put back to wait (its node lost)
 *   still counts on its node in the copy. So the round never books a node past what the copy
 *   showed free. Work that arrived after the first step waits for the next round (the index's
 *   generation moved, so one is asked for).
 */
export function* planRoundSteps(input: RoundInput): Steps<RoundOutput> {
  const { peek, index, now } = input;
  const nodes = nodeStates(peek, index, input.reserved, input.pipeline);
  const running = runningTasks(peek, index);
  const jobIds = [...index.waiting.keys()];
  let inFlightByJob: Map<string, number> | undefined;
  const fresh: FreshReads = {
    fits: placeableBound(nodes),
    inFlightOf: (jobId) => {
      inFlightByJob ??= countByJob(input.inFlight, index);
      return inFlightByJob.get(jobId) ?? 0;
    },
    aggregateAbove: input.aggregateAbove ?? AGGREGATE_ABOVE,
  };
  const sink = {
    tasks: [] as Task[],
    pending: new Map<string, RoundNote>(),
    verdicts: new Map<string, GateVerdict>(),
  };
  // Only jobs with waiting chunks give tasks or reasons here: most open jobs of a busy farm
  // only run, and the running ones count below, one sum per user and priority.
  for (let i = 0; i < jobIds.length; i++) {
    if (i % STEP_JOBS === STEP_JOBS - 1) yield;
    waitingTasks(input, jobIds[i]!, now, sink, fresh);
  }
  const { tasks, pending, verdicts } = sink;
  let wakeAt = Infinity;
  for (const t of tasks)
    if (t.notBefore !== undefined && t.notBefore > now && t.notBefore < wakeAt)
      wakeAt = t.notBefore;
  tasks.push(...running);
  const capacity = nodes
    .filter((n) => n.state === 'ready')
    .reduce(
      (c, n) => ({
        cpus: c.cpus + n.capacity.cpus,
        memMb: c.memMb + n.capacity.memMb,
        gpus: c.gpus + n.capacity.gpus,
      }),
      { cpus: 0, memMb: 0, gpus: 0 },
    );
  const history = usageOf(index, tasks, now, input.config.halfLifeS);
  let ranked = yield* queueOrderSteps(tasks, {
    capacity,
    history: (u) => history.get(u)!,
    config: input.config,
  });
  const promised = input.promised;
  if (promised?.size) {
    const first = ranked.filter((t) => promised.has(t.task.jobId));
    if (first.length > 0) ranked = [...first, ...ranked.filter((t) => !promised.has(t.task.jobId))];
  }
  const round = yield* placeRoundSteps(ranked, nodes, now, {
    reasons: input.reasons,
    ...(input.maxPlacements !== undefined && { maxPlacements: input.maxPlacements }),
    ...(input.quotaGate && { gate: input.quotaGate }),
  });
  let aheadIndex: AheadIndex | undefined;
  if (input.reasons) {
    // A job's note is that of its first waiting task in queue order (a gang's members share one).
    for (let at = 0; at < ranked.length; at++) {
      if (at % STEP_ITEMS === STEP_ITEMS - 1) yield;
      const { task, rank } = ranked[at]!;
      const reasons = round.waiting.get(task.id);
      if (reasons === undefined || pending.has(task.jobId)) continue;
      const verdict = verdicts.get(task.jobId);
      pending.set(task.jobId, {
        reasons: verdict && input.gate ? input.gate.explain(verdict, reasons) : reasons,
        rank,
        at,
      });
    }
    aheadIndex = new AheadIndex(ranked);
  }
  return {
    placements: round.placements,
    pending,
    ahead: (note, user) =>
      note.at === undefined || !aheadIndex ? [] : aheadIndex.at(note.at, user),
    queueLength: ranked.length,
    ...(wakeAt !== Infinity && { wakeAt }),
  };
}

/** Each user's decayed usage at `now`, for every user of `tasks`, read at once. */
function usageOf(
  index: FarmIndex,
  tasks: readonly Task[],
  now: number,
  halfLifeS: number,
): Map<string, ResourceVector> {
  const out = new Map<string, ResourceVector>();
  for (const t of tasks)
    if (!out.has(t.user)) out.set(t.user, historyAt(index.history, t.user, now, halfLifeS));
  return out;
}

/**
 * Whether a placement planned over turns may still be made now: its node still `ready` and its
 * job still `queued` or `running` (not held, cancelled or gone meanwhile), under a parent still
 * open (`parentClosed`). What the chunk itself
 * became is checked by its conditional append; the node and the job are not part of it.
 */
export function stillPlaceable(peek: Peek, p: Placement): boolean {
  const node = peek.node(p.node);
  const job = peek.job(p.task.jobId);
  if (!node || !job || stateName(node) !== 'ready') return false;
  const state = stateName(job);
  return (state === 'queued' || state === 'running') && !parentClosed(peek, job);
}
