import { stateName, type JobSnapshot } from '../actors/index.js';
import { chunkId, parseChunkId, type PendingReason } from '../events/index.js';
import type { FarmIndex, RunningGroup } from './farm-index.js';
import {
  NODE_AVOIDING_CAUSES,
  jobReasons,
  type GateVerdict,
  type NodeState,
  type ReservationGate,
  type ResourceVector,
  type Task,
} from '../policy/index.js';
import type { Peek } from './rules.js';

/** What a round reads to build its tasks: the farm, and the placements it must not repeat. */
export interface TaskReads {
  readonly peek: Peek;
  readonly index: FarmIndex;
  /** Chunks being placed right now (skip them). */
  readonly inFlight: ReadonlySet<string>;
  /** The node each chunk in flight goes to (a spread job's other chunks keep off it). */
  readonly inFlightNodes?: ReadonlyMap<string, string>;
  /** Keeps jobs off reserved nodes (reservations); none: every job may use every node. */
  readonly gate?: ReservationGate;
  /** A user's standing exclusions (`drover exclusions`): nodes never given the user's jobs. */
  readonly standingExclusions?: (user: string) => readonly string[] | undefined;
}

/**
 * What a round knows of its farm for a big job's tasks (`freshTasks`): how many tasks of a request
 * its free capacity could take, and how many of a job's waiting chunks are in flight.
 */
export interface FreshReads {
  readonly fits: (r: ResourceVector) => number;
  readonly inFlightOf: (jobId: string) => number;
  readonly aggregateAbove: number;
}

/** Where `waitingTasks` puts what it found: tasks to rank, notes of blocked jobs, gate verdicts. */
export interface TaskSink {
  readonly tasks: Task[];
  readonly pending: Map<string, { reasons: readonly PendingReason[] }>;
  readonly verdicts: Map<string, GateVerdict>;
}

const DEP_WAIT = new Set(['Held', 'Dependency', 'DependencyFailed']);
const PLACEABLE = new Set(['queued', 'running', 'held']);
/**
 * Shared empties (frozen: a round that tried to add to one would throw, not leak into the next
 * job): most of a large queue neither waits on anything nor avoids a node, and a list per task
 * per round was garbage a refresh round over 100,000 jobs made 100,000 times over.
 */
const NONE: readonly PendingReason[] = Object.freeze([]);
const NO_NODES: readonly string[] = Object.freeze([]);

/** The states of a parent that still takes children (intake: "children join open jobs only"). */
const OPEN_PARENT = new Set(['submitted', 'queued', 'held', 'running']);

/**
 * Whether `job`'s parent is known and no longer open (being cancelled, or ended): its chunks are
 * never placed then. A child is made only under an open parent, but one whose submission was
 * under way when the parent's cancel came may land after the parent's cascade looked (which
 * then settled it as never submitted): the child's own rule cancels it at once
 * (`cancelFromParent`), and this keeps a round from launching a process in between. Pure.
 */
export function parentClosed(peek: Peek, job: JobSnapshot): boolean {
  const parentId = job.context.spec?.parent;
  if (parentId === undefined) return false;
  const parent = peek.job(parentId);
  return parent !== undefined && !OPEN_PARENT.has(stateName(parent));
}

/** Job-level reasons (held, dependencies), or none when the job may be placed. */
function blockers(
  peek: Peek,
  job: JobSnapshot,
  state: string,
  now: number,
): readonly PendingReason[] {
  const spec = job.context.spec!;
  if (spec.after.length === 0 && state !== 'held') return NONE; // the common case: nothing to ask
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
  id: string,
  jobId: string,
  job: JobSnapshot,
  i: number,
  running: boolean,
): Task | undefined {
  const spec = job.context.spec!;
  const chunk = peek.chunk(id);
  if (!chunk) return undefined;
  const c = chunk.context;
  const request = c.retry?.request ?? c.request ?? requestOf(spec.cpus, spec.memMb, spec.gpus);
  const avoid =
    c.retry?.avoidNodes ??
    (c.attempts.length === 0
      ? NO_NODES
      : c.attempts.filter((a) => a.cause && NODE_AVOIDING_CAUSES.has(a.cause)).map((a) => a.node));
  const t: Task = {
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
    labels: spec.labels,
    excludeNodes: spec.excludeNodes,
    avoidNodes: avoid,
    partial: c.checkpoint !== undefined,
  };
  // Optional fields set after the literal, not spread into it: a literal with spreads is built
  // property by property (a larger object, and a temporary per spread), per task per round.
  if (running && c.node !== undefined) t.node = c.node;
  if (c.retry) t.notBefore = c.retry.notBefore;
  if (spec.spread) t.spread = true;
  return t;
}

/**
 * One frozen request vector per size a spec asks for (a round reads requests, never writes them):
 * queued jobs ask for a few sizes, and a vector per task per round was garbage. Bounded.
 */
const requests = new Map<number, Map<number, Map<number, Task['request']>>>();
let requestCount = 0;
function requestOf(cpus: number, memMb: number, gpus: number): Task['request'] {
  // Maps keyed by the numbers themselves: a key string would be the garbage this saves.
  let byMem = requests.get(cpus);
  if (!byMem) requests.set(cpus, (byMem = new Map()));
  let byGpus = byMem.get(memMb);
  if (!byGpus) byMem.set(memMb, (byGpus = new Map()));
  let r = byGpus.get(gpus);
  if (r === undefined) {
    if (++requestCount > 4096) {
      requests.clear();
      requestCount = 0;
    }
    r = Object.freeze({ cpus, memMb, gpus });
    byGpus.set(gpus, r);
  }
  return r;
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
export function runningTasks(peek: Peek, index: FarmIndex): Task[] {
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

/** The task of chunk `i` of a job that may be placed (none: in flight, or not folded). */
function waitingTask(
  input: TaskReads,
  jobId: string,
  job: JobSnapshot,
  i: number,
  verdict: GateVerdict | undefined,
): Task | undefined {
  const id = chunkId(jobId, i);
  if (input.inFlight.has(id)) return undefined;
  const t = taskOf(input.peek, input.index, id, jobId, job, i, false);
  if (!t) return undefined;
  if (verdict?.exclude.length) {
    // The verdict's own array when the job excludes nothing itself: shared, keyed once a round.
    const own = t.excludeNodes;
    t.excludeNodes = own.length === 0 ? verdict.exclude : [...own, ...verdict.exclude];
  }
  const standing = input.standingExclusions?.(t.user);
  if (standing?.length) t.excludeNodes = [...new Set([...t.excludeNodes, ...standing])];
  if (t.spread) {
    const held = spreadHeld(input.peek, jobId, job, input.inFlightNodes);
    if (held.length) t.excludeNodes = [...new Set([...t.excludeNodes, ...held])];
  }
  return t;
}

/**
 * One waiting job, read now: its waiting chunks' tasks into `sink.tasks`, or, when it may not be
 * placed (held, waiting on dependencies, kept off every node by a reservation), its reasons into
 * `sink.pending`. A job no longer waiting or placeable gives nothing.
 */
export function waitingTasks(
  input: TaskReads,
  jobId: string,
  now: number,
  sink: TaskSink,
  fresh?: FreshReads,
): void {
  const { peek, index } = input;
  const job = peek.job(jobId);
  const state = job ? stateName(job) : 'none';
  if (!job?.context.spec || !PLACEABLE.has(state)) return;
  // The job's waiting chunk indices as held (a number, or a Set for several): no copy a round.
  const waiting = index.waiting.indices(jobId);
  if (waiting === undefined || parentClosed(peek, job)) return;
  let blocked = blockers(peek, job, state, now);
  const verdict = input.gate?.check(job.context.spec);
  if (verdict) sink.verdicts.set(jobId, verdict);
  if (verdict?.blocked.length) blocked = [...blocked, ...verdict.blocked];
  if (blocked.length > 0) {
    sink.pending.set(jobId, { reasons: blocked });
    return;
  }
  if (typeof waiting === 'number') {
    const t = waitingTask(input, jobId, job, waiting, verdict);
    if (t) sink.tasks.push(t);
  } else if (
    fresh &&
    waiting.size > fresh.aggregateAbove &&
    index.allWaitingFresh(jobId) &&
    !job.context.spec.spread
  )
    freshTasks(
      input,
      jobId,
      job,
      waiting,
      verdict,
      fresh.fits,
      fresh.inFlightOf(jobId),
      sink.tasks,
    );
  else
    for (const i of waiting) {
      const t = waitingTask(input, jobId, job, i, verdict);
      if (t) sink.tasks.push(t);
    }
}

/**
 * Jobs with more waiting chunks than this, all fresh, give a round only the chunks it could place
 * and one aggregate for the rest (`freshTasks`). Small jobs are listed chunk by chunk as before.
 */
export const AGGREGATE_ABOVE = 64;

/**
 * Waiting chunks in flight per job (at most `MAX_IN_FLIGHT` ids; counted once a round, when
 * needed): they are in the queue's sets until their `chunk.assigned` is folded, but not tasks.
 */
export function countByJob(inFlight: ReadonlySet<string>, index: FarmIndex): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of inFlight) {
    const { jobId, index: i } = parseChunkId(id);
    const w = index.waiting.indices(jobId);
    if (w === undefined || (typeof w === 'number' ? w !== i : !w.has(i))) continue;
    out.set(jobId, (out.get(jobId) ?? 0) + 1);
  }
  return out;
}

/**
 * How many tasks of a request the ready nodes' free capacity could take at most in one round
 * (labels and exclusions ignored: an upper bound), memoised per request for the round. Requests
 * asking for nothing fit without bound.
 */
export function placeableBound(nodes: readonly NodeState[]): (r: ResourceVector) => number {
  const memo = new Map<ResourceVector, number>();
  return (r) => {
    let n = memo.get(r);
    if (n !== undefined) return n;
    n = 0;
    for (const node of nodes) {
      if (node.state !== 'ready') continue;
      let k = Infinity;
      for (const d of ['cpus', 'memMb', 'gpus'] as const) {
        if (!(r[d] > 0)) continue;
        const free = node.capacity[d] - node.used[d];
        k = Math.min(k, free > 0 ? Math.floor(free / r[d] + 1e-9) : 0);
      }
      n += k;
    }
    memo.set(r, n);
    return n;
  };
}

/**
 * The tasks of a job whose waiting chunks are all fresh (the same request, constraints and
 * history for each): the first ones in the order they began to wait, as many as the free capacity
 * could take plus one (that one carries the job's reasons when the others are placed), then one
 * aggregate (`Task.count`) for the rest, which holds their place and their sum in the queue.
 * Placements, reasons and ranks are those of one task per chunk: the rest could not have been
 * placed in this round (free capacity only shrinks as it places), and an aggregate changes no
 * other task's dru. A round over a job of 100,000 chunks so costs what it can place, not 100,000.
 */
function freshTasks(
  input: TaskReads,
  jobId: string,
  job: JobSnapshot,
  waiting: ReadonlySet<number>,
  verdict: GateVerdict | undefined,
  fits: (r: ResourceVector) => number,
  inFlight: number,
  tasks: Task[],
): void {
  const spec = job.context.spec!;
  const request = requestOf(spec.cpus, spec.memMb, spec.gpus);
  const eligible = waiting.size - inFlight;
  const want = Math.min(eligible, fits(request) + 1);
  let taken = 0;
  let last: Task | undefined;
  for (const i of waiting) {
    if (taken >= want) break;
    const t = waitingTask(input, jobId, job, i, verdict);
    if (!t) continue;
    tasks.push((last = t));
    taken++;
  }
  const rest = eligible - taken;
  if (rest <= 0 || !last) return;
  const aggregate: Task = {
    ...last,
    id: `${jobId}:+${rest}`,
    index: Number.MAX_SAFE_INTEGER, // after every chunk of its job in the user's own order
    request: {
      cpus: request.cpus * rest,
      memMb: request.memMb * rest,
      gpus: request.gpus * rest,
    },
    count: rest,
  };
  tasks.push(aggregate);
}
