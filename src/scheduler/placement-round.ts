import { stateName, type JobSnapshot } from '../actors/index.js';
import { chunkId, type PendingReason } from '../events/index.js';
import type { FarmIndex, RunningGroup } from './farm-index.js';
import {
  NODE_AVOIDING_CAUSES,
  historyAt,
  jobReasons,
  placeRound,
  queueOrder,
  type FairShareConfig,
  type NodeLifecycle,
  type NodeState,
  type Placement,
  type GateVerdict,
  type ReservationGate,
  type ResourceVector,
  type RoundGate,
  type Task,
} from '../policy/index.js';
import type { Peek } from './rules.js';

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

export interface RoundOutput {
  readonly placements: Placement[];
  /** Per waiting job: every reason that applies now, and its place in the queue. */
  readonly pending: Map<
    string,
    { reasons: PendingReason[]; rank?: number; ahead: { user: string; dru: number }[] }
  >;
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

const DEP_WAIT = new Set(['Held', 'Dependency', 'DependencyFailed']);

/** Job-level reasons (held, dependencies), or none when the job may be placed. */
function blockers(peek: Peek, job: JobSnapshot, now: number): PendingReason[] {
  const spec = job.context.spec!;
  const after = spec.after.map((jobId) => {
    const dep = peek.job(jobId);
    return { jobId, state: dep ? stateName(dep) : 'unknown' };
  });
  const held =
    stateName(job) === 'held' ? { by: 'user', reason: job.context.holdReason ?? '' } : undefined;
  return jobReasons({ after, now, ...(held && { held }) }).filter((r) => DEP_WAIT.has(r.code));
}

function taskOf(
  peek: Peek,
  index: FarmIndex,
  jobId: string,
  job: JobSnapshot,
  i: number,
  running: boolean,
): Task | undefined {
  const spec = job.context.spec!;
  const id = chunkId(jobId, i);
  const chunk = peek.chunk(id);
  if (!chunk) return undefined;
  const c = chunk.context;
  const request = c.retry?.request ??
    c.request ?? { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus };
  const avoid =
    c.retry?.avoidNodes ??
    c.attempts.filter((a) => a.cause && NODE_AVOIDING_CAUSES.has(a.cause)).map((a) => a.node);
  return {
    id,
    jobId,
    index: i,
    user: spec.user,
    pool: spec.pool,
    priority: job.context.priority,
    globalFront: false,
    submittedAt: job.context.createdAt ?? 0,
    order: index.submitSeq.get(jobId) ?? 0,
    request,
    running,
    ...(running && c.node !== undefined && { node: c.node }),
    labels: spec.labels,
    excludeNodes: spec.excludeNodes,
    avoidNodes: avoid,
    ...(c.retry && { notBefore: c.retry.notBefore }),
    partial: c.checkpoint !== undefined,
    ...(spec.spread && { spread: true }),
  };
}

const HOLDS_NODE = new Set(['assigned', 'running', 'cancelling']);

/**
 * The nodes a spread job's other chunks hold (live there, or being placed there): its waiting
 * chunks keep off them. Spread jobs are allocations of a few chunks, so reading each is cheap.
 */
function spreadHeld(
  peek: Peek,
  jobId: string,
  job: JobSnapshot,
  inFlightNodes: ReadonlyMap<string, string> | undefined,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < job.context.spec!.chunks; i++) {
    const id = chunkId(jobId, i);
    const flying = inFlightNodes?.get(id);
    if (flying !== undefined) out.push(flying);
    const c = peek.chunk(id);
    if (c && c.context.node !== undefined && HOLDS_NODE.has(stateName(c))) out.push(c.context.node);
  }
  return out;
}

/**
 * What runs, as the queue needs it: one task per user and priority carrying the sum of their
 * running requests. Running tasks come first in a user's own order at their priority, so the
 * running sums S_r of every waiting task are exactly those of one task per running chunk, at a
 * cost per round that does not grow with 100,000 running chunks into 100,000 task objects.
 * (Ranks in decisions count each such group as one place.)
 */
function runningTasks(peek: Peek, index: FarmIndex): Task[] {
  const groups = new Map<string, Task & { request: ResourceVector }>();
  for (const [jobId, live] of index.liveByJob) {
    live.group ??= groupOf(peek, jobId); // once per job and change of it, not once per round
    const { held, group: g } = live;
    if (!g) continue;
    const group = groups.get(g.key);
    if (group) {
      group.request.cpus += held.cpus;
      group.request.memMb += held.memMb;
      group.request.gpus += held.gpus;
      continue;
    }
    groups.set(g.key, {
      id: `running:${g.user}:${g.priority}:${jobId}`,
      jobId,
      index: 0,
      user: g.user,
      pool: g.pool,
      priority: g.priority,
      globalFront: false,
      submittedAt: 0,
      order: 0,
      request: { ...held },
      running: true,
      labels: {},
      excludeNodes: [],
      avoidNodes: [],
    });
  }
  return [...groups.values()];
}

function groupOf(peek: Peek, jobId: string): RunningGroup | undefined {
  const job = peek.job(jobId);
  const spec = job?.context.spec;
  if (!job || !spec) return undefined;
  const { priority } = job.context;
  return { key: `${spec.user}\u0000${priority}`, user: spec.user, pool: spec.pool, priority };
}

/**
 * One scheduling round (pure given its input, but for the running jobs' queue groups it caches
 * in the index, which the index drops whenever their job changes): every open job's waiting chunks and running
 * chunks in the fair-share queue, placed from the front with backfill; jobs held or waiting on
 * dependencies are not placed and get their reasons.
 */
export function planRound(input: RoundInput): RoundOutput {
  const { peek, index, now } = input;
  const tasks: Task[] = [];
  const pending: RoundOutput['pending'] = new Map();
  const verdicts = new Map<string, GateVerdict>();
  // Only jobs with waiting chunks give tasks or reasons here: most open jobs of a busy farm
  // only run, and the running ones count below, one sum per user and priority.
  for (const jobId of index.waiting.keys()) {
    const job = peek.job(jobId);
    const state = job ? stateName(job) : 'none';
    if (!job?.context.spec || !['queued', 'running', 'held'].includes(state)) continue;
    const waiting = index.waiting.get(jobId);
    const blocked = waiting?.length ? blockers(peek, job, now) : [];
    const verdict = waiting?.length ? input.gate?.check(job.context.spec) : undefined;
    if (verdict) verdicts.set(jobId, verdict);
    if (verdict?.blocked.length) blocked.push(...verdict.blocked);
    if (blocked.length > 0) {
      pending.set(jobId, { reasons: blocked, ahead: [] });
      continue;
    }
    for (const i of waiting ?? []) {
      if (input.inFlight.has(chunkId(jobId, i))) continue;
      const t = taskOf(peek, index, jobId, job, i, false);
      if (t && verdict?.exclude.length) {
        // The verdict's own array when the job excludes nothing itself: shared, keyed once a round.
        const own = t.excludeNodes;
        t.excludeNodes = own.length === 0 ? verdict.exclude : [...own, ...verdict.exclude];
      }
      const standing = t && input.standingExclusions?.(t.user);
      if (t && standing?.length) t.excludeNodes = [...new Set([...t.excludeNodes, ...standing])];
      const held = t?.spread ? spreadHeld(peek, jobId, job, input.inFlightNodes) : [];
      if (t && held.length) t.excludeNodes = [...new Set([...t.excludeNodes, ...held])];
      if (t) tasks.push(t);
    }
  }
  let wakeAt = Infinity;
  for (const t of tasks)
    if (t.notBefore !== undefined && t.notBefore > now && t.notBefore < wakeAt)
      wakeAt = t.notBefore;
  tasks.push(...runningTasks(peek, index));
  const nodes = nodeStates(peek, index, input.reserved, input.pipeline);
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
  let ranked = queueOrder(tasks, {
    capacity,
    history: (u) => historyAt(index.history, u, now, input.config.halfLifeS),
    config: input.config,
  });
  const promised = input.promised;
  if (promised?.size) {
    const first = ranked.filter((t) => promised.has(t.task.jobId));
    if (first.length > 0) ranked = [...first, ...ranked.filter((t) => !promised.has(t.task.jobId))];
  }
  const round = placeRound(ranked, nodes, now, {
    reasons: input.reasons,
    ...(input.maxPlacements !== undefined && { maxPlacements: input.maxPlacements }),
    ...(input.quotaGate && { gate: input.quotaGate }),
  });
  if (input.reasons) {
    const aheadOf = aheadByTask(ranked, round.waiting);
    for (const [taskId, reasons] of round.waiting) {
      const jobId = taskId.slice(0, taskId.lastIndexOf(':'));
      if (pending.has(jobId)) continue;
      const a = aheadOf.get(taskId);
      const verdict = verdicts.get(jobId);
      pending.set(jobId, {
        reasons: verdict && input.gate ? input.gate.explain(verdict, reasons) : reasons,
        ...(a && { rank: a.rank }),
        ahead: a?.ahead ?? [],
      });
    }
  }
  return {
    placements: round.placements,
    pending,
    queueLength: ranked.length,
    ...(wakeAt !== Infinity && { wakeAt }),
  };
}

/** Users named in a pending note's `ahead`, at most. */
const AHEAD_USERS = 20;

/**
 * For each waiting task, its rank and the other users with waiting work ranked before it (first
 * appearance order, each with the dru of their last task before it, up to `AHEAD_USERS`). One
 * pass over the queue: only the first `AHEAD_USERS + 1` users to appear can be named, so a task's
 * list costs O(AHEAD_USERS), not a slice of the queue before it (that was O(queue²) per round
 * with reasons on: minutes for 100,000 pending jobs).
 */
function aheadByTask(
  ranked: readonly { task: Task; dru: number; rank: number }[],
  waiting: ReadonlyMap<string, unknown>,
): Map<string, { rank: number; ahead: { user: string; dru: number }[] }> {
  const out = new Map<string, { rank: number; ahead: { user: string; dru: number }[] }>();
  const firstUsers: string[] = [];
  const lastDru = new Map<string, number>();
  for (const r of ranked) {
    if (waiting.has(r.task.id)) {
      const ahead = firstUsers
        .filter((u) => u !== r.task.user)
        .slice(0, AHEAD_USERS)
        .map((user) => ({ user, dru: lastDru.get(user) as number }));
      out.set(r.task.id, { rank: r.rank, ahead });
    }
    if (r.task.running) continue;
    if (!lastDru.has(r.task.user) && firstUsers.length <= AHEAD_USERS) firstUsers.push(r.task.user);
    if (firstUsers.includes(r.task.user)) lastDru.set(r.task.user, r.dru);
  }
  return out;
}
