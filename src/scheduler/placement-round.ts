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
  readonly reasons: boolean;
  /** Stop after this many placements (the service bounds placements awaiting their append). */
  readonly maxPlacements?: number;
  /** Holds tasks back before placement (quotas: `createQuotaGate`); none by default. */
  readonly gate?: RoundGate;
  /** A user's standing exclusions (`drover exclusions`): nodes never given the user's jobs. */
  readonly standingExclusions?: (user: string) => readonly string[] | undefined;
}

export interface RoundOutput {
  readonly placements: Placement[];
  /** Per waiting job: every reason that applies now, and its place in the queue. */
  readonly pending: Map<
    string,
    { reasons: PendingReason[]; rank?: number; ahead: { user: string; dru: number }[] }
  >;
  readonly queueLength: number;
}

/** Nodes as the policy sees them: capacity, labels, use (live chunks plus reservations). */
export function nodeStates(
  peek: Peek,
  index: FarmIndex,
  reserved: ReadonlyMap<string, ResourceVector>,
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
  };
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
  // Only jobs with waiting chunks give tasks or reasons here: most open jobs of a busy farm
  // only run, and the running ones count below, one sum per user and priority.
  for (const jobId of index.waiting.keys()) {
    const job = peek.job(jobId);
    const state = job ? stateName(job) : 'none';
    if (!job?.context.spec || !['queued', 'running', 'held'].includes(state)) continue;
    const waiting = index.waiting.get(jobId);
    const blocked = waiting?.size ? blockers(peek, job, now) : [];
    if (blocked.length > 0) {
      pending.set(jobId, { reasons: blocked, ahead: [] });
      continue;
    }
    for (const i of waiting ?? []) {
      if (input.inFlight.has(chunkId(jobId, i))) continue;
      const t = taskOf(peek, index, jobId, job, i, false);
      const standing = t && input.standingExclusions?.(t.user);
      if (t && standing?.length) t.excludeNodes = [...new Set([...t.excludeNodes, ...standing])];
      if (t) tasks.push(t);
    }
  }
  tasks.push(...runningTasks(peek, index));
  const nodes = nodeStates(peek, index, input.reserved);
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
  const ranked = queueOrder(tasks, {
    capacity,
    history: (u) => historyAt(index.history, u, now, input.config.halfLifeS),
    config: input.config,
  });
  const round = placeRound(ranked, nodes, now, {
    reasons: input.reasons,
    ...(input.maxPlacements !== undefined && { maxPlacements: input.maxPlacements }),
    ...(input.gate && { gate: input.gate }),
  });
  if (input.reasons) {
    const rankOf = new Map(ranked.map((r) => [r.task.id, r] as const));
    for (const [taskId, reasons] of round.waiting) {
      const jobId = taskId.slice(0, taskId.lastIndexOf(':'));
      if (pending.has(jobId)) continue;
      const r = rankOf.get(taskId);
      const ahead = ranked
        .slice(0, r?.rank ?? 0)
        .filter((x) => !x.task.running && x.task.user !== r?.task.user);
      const users = [...new Map(ahead.map((x) => [x.task.user, x.dru] as const))].slice(0, 20);
      pending.set(jobId, {
        reasons,
        ...(r && { rank: r.rank }),
        ahead: users.map(([user, dru]) => ({ user, dru })),
      });
    }
  }
  return { placements: round.placements, pending, queueLength: ranked.length };
}
