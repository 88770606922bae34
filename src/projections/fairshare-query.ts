import { parseChunkId } from '../events/index.js';
import {
  RESOURCE_KEYS,
  defaultFairShareConfig,
  historyAt,
  queueOrder,
  weightOf,
  type FairShareConfig,
  type ResourceKey,
  type ResourceVector,
  type Task,
} from '../policy/index.js';
import { configOfState, type FairshareState, type UsageFact } from './fairshare.projection.js';
import { jobOf } from './projection.js';

/** Users listed in `ahead` per row, at most. */
const AHEAD_MAX = 10;

/** Why one user is ahead of another: the term and resource that make the difference. */
export interface AheadEntry {
  user: string;
  /** The ahead user's ranking value (`nextDru`). */
  dru: number;
  /**
   * Which term of the behind user's next-task dru exceeds the ahead user's the most:
   * `current`: the tasks it runs plus the next one's request; `history`: the decayed usage.
   * `order`: the two values are equal (or the ahead task was moved to the global front), so
   * the POLICY tie-breaks decide (global front, earlier submission, then id).
   */
  term: 'current' | 'history' | 'order';
  /** The behind user's dominant resource in its next-task dru, where the difference is measured. */
  resource: ResourceKey;
}

/** One row of `drover fairshare` (CONTRACT `fairshare` shape plus provenance fields). */
export interface FairshareRow {
  user: string;
  weight: number | ResourceVector;
  /** Dominant share now: max over r of (running_r + λ·H_r/horizon) / (w_r·C_r). */
  dru: number;
  /** Decayed usage as of `now`, resource-seconds. */
  history: ResourceVector;
  running: number;
  pending: number;
  /**
   * What ranks: the dru of the user's next waiting task in the global queue (POLICY §1: the
   * requests of the tasks it runs and of that task, plus λ·history/horizon, over weight ×
   * capacity); null when nothing waits. Not `dru`: it adds the next task's request and leaves
   * out running tasks the user orders after it (lower priority).
   */
  nextDru: number | null;
  /**
   * 1-based: by the position of the user's next waiting task in the global queue, so ascending
   * `nextDru` (ties by POLICY: global front, earlier submission, then id); users with nothing
   * waiting come last, by ascending `dru`.
   */
  rank: number;
  /** Position (0-based) of that task in the queue; null when nothing waits. */
  queueRank: number | null;
  ahead: AheadEntry[];
  /** The share split into its two terms, per resource. */
  terms: { current: ResourceVector; history: ResourceVector };
  dominant: ResourceKey;
  /** The most recent usage facts behind `history` (worker, seq, time, resource-seconds). */
  facts: UsageFact[];
  /**
   * The version of the fair-share policy (weights, half-life, λ) this row was computed with: the
   * log's `drover.ev.policy.fairshare` version at the point read (0: POLICY defaults, never set).
   */
  policyVersion: number;
}

/** C_r: the capacity of the nodes that are up, as the queue ranks against it. Pure. */
export function capacityOf(s: FairshareState): ResourceVector {
  const c = { cpus: 0, memMb: 0, gpus: 0 };
  for (const n of s.nodes.values()) {
    if (!n.up) continue;
    c.cpus += n.capacity.cpus;
    c.memMb += n.capacity.memMb;
    c.gpus += n.capacity.gpus;
  }
  return c;
}

/** The queue's tasks from the active chunks (chunks of unknown jobs are left out). Pure. */
export function fairshareTasks(s: FairshareState): Task[] {
  const tasks: Task[] = [];
  for (const [id, c] of s.chunks) {
    const jobId = jobOf(id);
    const job = s.jobs.get(jobId);
    if (!job) continue;
    const t: Task = {
      id,
      jobId,
      index: parseChunkId(id).index,
      user: job.user,
      pool: job.pool,
      priority: job.priority,
      globalFront: job.globalFront,
      submittedAt: job.submittedAt,
      order: job.order,
      request: c.request ?? job.request,
      running: c.running,
      labels: job.labels,
      excludeNodes: job.excludeNodes,
      avoidNodes: c.avoidNodes ?? [],
    };
    if (c.node !== undefined) t.node = c.node;
    if (c.notBefore !== undefined) t.notBefore = c.notBefore;
    if (c.partial) t.partial = true;
    tasks.push(t);
  }
  return tasks;
}

function share(v: number, w: number, cap: number): number {
  if (!(cap > 0)) return 0;
  if (!(w > 0)) return v > 0 ? Infinity : 0;
  return v / (w * cap);
}

interface Draft extends Omit<FairshareRow, 'rank' | 'ahead'> {
  firstWaiting: number;
  /** The next waiting task's dru split into its two terms, per resource (zero when none waits). */
  next: { current: ResourceVector; history: ResourceVector; dominant: ResourceKey; front: boolean };
}

/**
 * Per user, as of `now` (epoch ms): weight, decayed history, dominant share, running and
 * pending counts, rank, and provenance (which term and resource put each user ahead, and the
 * usage facts behind the history). Pure; ranks come from the policy's `queueOrder`, so they are
 * the scheduler's. Users without active tasks but with history are listed too.
 */
export function fairshare(
  s: FairshareState,
  q: { now: number; config?: FairShareConfig },
): FairshareRow[] {
  const inForce = configOfState(s, defaultFairShareConfig);
  const config = q.config ?? inForce.config;
  const capacity = capacityOf(s);
  const hist = (u: string) => historyAt(s.history, u, q.now, config.halfLifeS);
  const tasks = fairshareTasks(s);
  const queue = queueOrder(tasks, { capacity, history: hist, config });
  const users = new Set<string>([...Object.keys(s.history.byUser), ...tasks.map((t) => t.user)]);
  const k = config.lambda / (config.horizonS ?? config.halfLifeS);
  const drafts = new Map<string, Draft>();
  for (const user of users) {
    const w = weightOf(config, user);
    const h = hist(user);
    const current = { cpus: 0, memMb: 0, gpus: 0 };
    const terms = { current: { ...current }, history: { ...current } };
    let dru = 0;
    let dominant: ResourceKey = 'cpus';
    for (const t of tasks) {
      if (t.user !== user || !t.running) continue;
      for (const r of RESOURCE_KEYS) current[r] += t.request[r];
    }
    for (const r of RESOURCE_KEYS) {
      terms.current[r] = share(current[r], w[r], capacity[r]);
      terms.history[r] = config.lambda === 0 ? 0 : share(k * h[r], w[r], capacity[r]);
      const total = share(current[r] + (config.lambda === 0 ? 0 : k * h[r]), w[r], capacity[r]);
      if (total > dru) [dru, dominant] = [total, r];
    }
    const mine = tasks.filter((t) => t.user === user);
    const running = mine.filter((t) => t.running).length;
    const uniform = w.cpus === w.memMb && w.cpus === w.gpus;
    drafts.set(user, {
      user,
      weight: uniform ? w.cpus : w,
      dru,
      history: h,
      running,
      pending: mine.length - running,
      queueRank: null,
      nextDru: null,
      next: { current: { ...current }, history: terms.history, dominant, front: false },
      terms,
      dominant,
      facts: (s.facts.get(user) ?? []).slice(-FACTS_PER_ROW),
      policyVersion: inForce.version,
      firstWaiting: Infinity,
    });
  }
  // The queue keeps each user's own order, so summing a user's requests up to its first
  // waiting task gives that task's S_r, the current term of the value that ranks.
  const sums = new Map<string, ResourceVector>();
  for (const r of queue) {
    const d = drafts.get(r.task.user);
    if (!d || d.queueRank !== null) continue;
    const sum = sums.get(d.user) ?? { cpus: 0, memMb: 0, gpus: 0 };
    for (const k of RESOURCE_KEYS) sum[k] += r.task.request[k];
    sums.set(d.user, sum);
    if (r.task.running) continue;
    [d.queueRank, d.firstWaiting, d.nextDru] = [r.rank, r.rank, r.dru];
    const w = weightOf(config, d.user);
    let best = -1;
    for (const k of RESOURCE_KEYS) {
      d.next.current[k] = share(sum[k], w[k], capacity[k]);
      const total = d.next.current[k] + d.next.history[k];
      if (total > best) [best, d.next.dominant] = [total, k];
    }
    d.next.front = r.task.globalFront;
  }
  const ordered = [...drafts.values()].sort(
    (a, b) => a.firstWaiting - b.firstWaiting || a.dru - b.dru || (a.user < b.user ? -1 : 1),
  );
  return ordered.map((d, i) => {
    const { firstWaiting: _f, next: _n, ...row } = d;
    // A user with nothing waiting is behind nobody: it ranks last because it asks for nothing.
    const ahead =
      d.nextDru === null
        ? []
        : ordered.slice(Math.max(0, i - AHEAD_MAX), i).map((b) => aheadOf(d, b));
    return { ...row, rank: i + 1, ahead };
  });
}

const FACTS_PER_ROW = 20;

/**
 * Which term puts `b` (ranked ahead, with a waiting task) ahead of `a`: the term of `a`'s
 * next-task dru that exceeds `b`'s the most, on `a`'s dominant resource; `order` on a tie.
 */
function aheadOf(a: Draft, b: Draft): AheadEntry {
  const r = a.next.dominant;
  const dru = b.nextDru ?? 0;
  if (dru === a.nextDru || b.next.front !== a.next.front)
    return { user: b.user, dru, term: 'order', resource: r };
  const dc = a.next.current[r] - b.next.current[b.next.dominant];
  const dh = a.next.history[r] - b.next.history[b.next.dominant];
  return { user: b.user, dru, term: dh > dc ? 'history' : 'current', resource: r };
}
