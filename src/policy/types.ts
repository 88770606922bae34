import type { FailureCause } from '../events/index.js';

/**
 * A quantity of the three scheduled resources: a request, a node's capacity or usage, or (as
 * resource-seconds) a user's history. Plain data; the policy never mutates one it is given.
 */
export interface ResourceVector {
  cpus: number;
  memMb: number;
  gpus: number;
}

/** The resources in a fixed order, so loops over them are deterministic. */
export const RESOURCE_KEYS = ['cpus', 'memMb', 'gpus'] as const;
/** One of `cpus`, `memMb`, `gpus`. */
export type ResourceKey = (typeof RESOURCE_KEYS)[number];

/**
 * Fair-share knobs of POLICY §1. A weight is per user, either one number for every resource or
 * per resource (a missing resource weighs 1). Weights ≤ 0 give that resource an infinite share
 * once the user asks for any of it, so such a user only runs when nobody else waits.
 */
export interface FairShareConfig {
  /** Half-life of decayed usage, seconds (default 24 h). */
  halfLifeS: number;
  /** Turns resource-seconds into a resource level; default = `halfLifeS`. */
  horizonS?: number;
  /** How much history counts (default 1; 0 is Cook's instantaneous DRU). */
  lambda: number;
  /** Per user; default 1. */
  weights: Readonly<Record<string, number | Partial<ResourceVector>>>;
}

/** One chunk of a job, waiting or running, as the queue sees it. Plain data. */
export interface Task {
  /** Chunk id `<jobId>:<index>`. */
  id: string;
  jobId: string;
  index: number;
  user: string;
  pool: string;
  priority: number;
  /** Admin override to the global front (POLICY §3). */
  globalFront: boolean;
  /** ms since the epoch. */
  submittedAt: number;
  /** Log sequence of `job.submitted`: the final, deterministic tie-break. */
  order: number;
  request: ResourceVector;
  /** Running tasks count in the user's running sum but are never placed. */
  running: boolean;
  node?: string;
  /** Constraints: a node's labels must include every `k=v` here. */
  labels: Readonly<Record<string, string>>;
  excludeNodes: readonly string[];
  /** Nodes where an earlier attempt of the job failed (any cause): used only if nothing else fits. */
  avoidNodes: readonly string[];
  /** Retry backoff: not placeable before this time (ms). */
  notBefore?: number;
  /** Has a checkpoint from a lost or preempted attempt: goes before fresh chunks of its job. */
  partial?: boolean;
  /**
   * One chunk of the job per node (an allocation over several nodes), placed as a gang: the
   * job's waiting chunks all in one round or none (nothing is held until every node is), never
   * on a node where another chunk of its job runs (a running task of the job with `node`) nor
   * two on one node; they wait rather than double up or hold part.
   */
  spread?: boolean;
  /**
   * An aggregate: this task stands for `count` identical waiting chunks of its job (fresh, same
   * request and constraints) that the round cannot place, because the farm's free capacity could
   * not take them after the job's chunks before them. It holds their place: their summed request
   * counts in the user's running sums S_r (so every later task's dru is what it would be with
   * one task per chunk), it takes `count` ranks, and it is never placed nor given reasons.
   * A job of 100,000 chunks is then a few tasks a round, not 100,000.
   */
  count?: number;
}

/** Node lifecycle states; only `ready` nodes receive work. */
export type NodeLifecycle =
  'registering' | 'ready' | 'draining' | 'drained' | 'cordoned' | 'lost' | 'offline';

/** A node as placement sees it: `used` includes every running task on it. */
export interface NodeState {
  id: string;
  state: NodeLifecycle;
  capacity: ResourceVector;
  used: ResourceVector;
  labels: Readonly<Record<string, string>>;
}

/** A task with its dominant resource usage and its 0-based position in the global queue. */
export interface Ranked {
  task: Task;
  dru: number;
  rank: number;
}

/** Every pending-reason code of POLICY.md. */
export type PendingCode =
  | 'Priority'
  | 'Resources'
  | 'Unsatisfiable'
  | 'Constraint'
  | 'Excluded'
  | 'Dependency'
  | 'DependencyFailed'
  | 'Held'
  | 'Quota'
  | 'Reservation'
  | 'BeginTime'
  | 'Schedule'
  | 'Backoff';

/** Why something waits, in words, and what would unblock it. */
export interface PendingReason {
  code: PendingCode;
  message: string;
  unblock: string;
  details?: Record<string, unknown>;
}

/** Why a placement did not use a node. */
export type SkipReason = 'not_ready' | 'constraint' | 'excluded' | 'avoided' | 'too_small' | 'full';

/** A node a placement passed over, and why. */
export interface SkippedNode {
  node: string;
  reason: SkipReason;
}

/** One task bound to one node by a round. */
export interface Placement {
  task: Task;
  node: string;
  dru: number;
  rank: number;
  /** At most 8 nodes passed over, the most informative first (avoided, excluded, capacity, labels). */
  skipped: readonly SkippedNode[];
}

/** What one placement round decided. */
export interface RoundResult {
  placements: Placement[];
  /** Waiting tasks the round looked at and did not place, by task id (empty reasons if not asked). */
  waiting: Map<string, PendingReason[]>;
}

/**
 * A per-task admission check inside a round (quotas): `check` holds a task back with its reason
 * before any node is looked at, so a held task takes no capacity from the tasks behind it;
 * `take` tells it a task was placed. Owned by one round.
 */
export interface RoundGate {
  /** `explain` false (the fast path): any non-undefined value holds; words are not needed. */
  check(t: Task, explain?: boolean): PendingReason | undefined;
  take(t: Task): void;
}

/** Options of one round. */
export interface RoundOptions {
  /** Holds tasks back before placement (quotas); none by default. */
  gate?: RoundGate;
  /** Stop after this many placements; later tasks are not looked at. */
  maxPlacements?: number;
  /** Build pending reasons and full skip lists (default true); false is the fast path. */
  reasons?: boolean;
}

/** The outcome of an ended attempt. */
export type RetryDecision =
  | {
      retry: true;
      request: ResourceVector;
      notBefore: number;
      avoidNodes: string[];
      countsAgainstRetries: boolean;
      reason: string;
    }
  | { retry: false; reason: string };

/** Exponential backoff: `baseMs · 2^(n-1)` for the n-th counted retry, at most `maxMs`. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Input of `retryDecision`: the ended attempt and the job's retry budget. */
export interface RetryInput {
  cause: FailureCause;
  node: string;
  attempt: number;
  now: number;
  retriesAllowed: number;
  /** Counted failures before this one. */
  retriesUsed: number;
  request: ResourceVector;
  peakRssMb: number;
  largestNode: ResourceVector;
  previousFailures: readonly { cause: FailureCause; node: string }[];
  backoff?: Backoff;
  /** For `ExitNonZero`: the exit code, explained in the reason. */
  exitCode?: number;
}
