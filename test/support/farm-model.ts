import type {
  AlertCommand,
  CalendarCommand,
  RunbookCommand,
  SessionCommand,
  PolicyCommand,
  RunCommand,
  WorkflowCommand,
  ChunkCommand,
  ChunkSnapshot,
  CommandMeta,
  Decision,
  JobCommand,
  JobSnapshot,
  NodeCommand,
  PromiseCommand,
  ReservationCommand,
  WorkerCommand,
  WorkerSnapshot,
} from '../../src/actors/index.js';
import {
  afterChunkEvent,
  afterJobEvent,
  allSettled,
  behaviours,
  cancelCascade,
  cancelFromParent,
  closingCommand,
  stateName,
} from '../../src/actors/index.js';
import { chunkId, parseChunkId, workerId } from '../../src/events/index.js';
import type { DroverEvent, Entity, FailureCause } from '../../src/events/index.js';
import { scheduler, spec } from './decider-spec.js';

/** One event as the model's log stored it, with the entity's snapshots around it. */
export interface Appended {
  readonly entity: Entity;
  readonly id: string;
  readonly event: DroverEvent;
  readonly before: unknown;
  readonly after: unknown;
}

/**
 * A pure in-memory model of a small farm: a parent job P (2 chunks) with children C1 (1 chunk),
 * C2 (2 chunks, queued later) and C3 (1 chunk: added to P, submitted later or never, as a
 * creation cut between the parent's `child_added` and the child's submission), two nodes, and a
 * worker per attempt. Every change goes through
 * the deciders; the cross-entity rules of cascade.ts travel through a FIFO outbox delivered late
 * (and sometimes twice). `log` mimics the event log: an event is folded as it is appended (one the
 * machine rejects throws) and an event id seen before is dropped (Nats-Msg-Id). `onAppend` lets a
 * test watch every event with the snapshots around it.
 */
export interface Farm {
  readonly entities: Record<Entity, Map<string, unknown>>;
  readonly log: { entity: Entity; id: string; event: DroverEvent }[];
  readonly ids: Set<string>;
  readonly outbox: {
    entity: 'job' | 'chunk' | 'worker';
    id: string;
    command: JobCommand | ChunkCommand | WorkerCommand;
  }[];
  readonly violations: string[];
  readonly onAppend: (f: Farm, appended: Appended) => void;
  last?: { entity: Entity; id: string; command: unknown };
  seq: number;
}

interface CommandOf {
  job: JobCommand;
  chunk: ChunkCommand;
  worker: WorkerCommand;
  node: NodeCommand;
  calendar: CalendarCommand;
  reservation: ReservationCommand;
  alert: AlertCommand;
  runbook: RunbookCommand;
  session: SessionCommand;
  policy: PolicyCommand;
  workflow: WorkflowCommand;
  run: RunCommand;
  promise: PromiseCommand;
}

export const JOBS = { P: 2, C1: 1, C2: 2, C3: 1 } as const;
/** Job states open to new children (and to the placement of a child's chunks). */
const OPEN = ['submitted', 'queued', 'held', 'running'] as const;
export const NODES = ['n1', 'n2'] as const;
export const LIVE_WORKER = ['launching', 'running', 'lost'] as const;
const MAX_ATTEMPTS = 3;
const request = { cpus: 1, memMb: 64, gpus: 0 };
const usage = { peakRssMb: 10, cpuSeconds: 1, wallSeconds: 1 };

const snapshot = (f: Farm, entity: Entity, id: string): unknown =>
  f.entities[entity].get(id) ?? behaviours[entity].initial();
export const jobOf = (f: Farm, id: string) => snapshot(f, 'job', id) as JobSnapshot;
export const chunkOf = (f: Farm, id: string) => snapshot(f, 'chunk', id) as ChunkSnapshot;
export const workerOf = (f: Farm, id: string) => snapshot(f, 'worker', id) as WorkerSnapshot;
export const nameOf = (s: unknown) => stateName(s as never);
const isIn = (s: unknown, states: readonly string[]) => states.includes(nameOf(s));

/** Fresh command meta: ids `m<n>`, times in step. */
export function meta(f: Farm): CommandMeta {
  f.seq += 1;
  return { id: `m${f.seq}`, at: 1_000 + f.seq, by: scheduler };
}

/** Decide `command` for one entity and append what the decision yields (events or audit). */
export function exec<E extends Entity>(f: Farm, entity: E, id: string, c: CommandOf[E]): Decision {
  const decision = behaviours[entity].decide(snapshot(f, entity, id), c);
  for (const e of decision.ok ? decision.events : (decision.audit ?? [])) append(f, entity, id, e);
  f.last = { entity, id, command: c };
  return decision;
}

function append(f: Farm, entity: Entity, id: string, event: DroverEvent): void {
  if (f.ids.has(event.id)) return;
  const before = snapshot(f, entity, id);
  const after = behaviours[entity].evolve(before, event);
  f.ids.add(event.id);
  f.log.push({ entity, id, event });
  f.entities[entity].set(id, after);
  f.onAppend(f, { entity, id, event, before, after });
  if (entity === 'chunk') afterChunk(f, before as ChunkSnapshot, after as ChunkSnapshot, event);
  if (entity === 'job') afterJob(f, id, before as JobSnapshot, after as JobSnapshot, event);
}

/** The job learns of its chunk; a chunk being cancelled gets its live process killed. */
function afterChunk(f: Farm, before: ChunkSnapshot, after: ChunkSnapshot, e: DroverEvent): void {
  const job = afterChunkEvent(before, after, e, scheduler);
  if (job) f.outbox.push({ entity: 'job', ...job });
  const { jobId, index, attempt } = after.context;
  const wid = workerId(jobId, index, attempt);
  if (e.type === 'chunk.cancel_requested' && isIn(workerOf(f, wid), ['launching', 'running'])) {
    exec(f, 'worker', wid, killRequest(f, wid));
  }
}

/** The scheduler's kill request of a cancelled chunk's worker: one command id per worker. */
function killRequest(f: Farm, wid: string): WorkerCommand {
  const data = { reason: 'cancel' as const, signal: 'SIGTERM' };
  return { type: 'RequestKill', ...meta(f), id: `kill:${wid}`, data };
}

/** The parent learns of its child; a job being cancelled cascades to everything under it. */
function afterJob(f: Farm, id: string, before: JobSnapshot, after: JobSnapshot, e: DroverEvent) {
  const parent = afterJobEvent(id, before, after, e, scheduler);
  if (parent) f.outbox.push({ entity: 'job', ...parent });
  const parentId = after.context.spec?.parent;
  const owed = parentId && cancelFromParent(id, after, jobOf(f, parentId), meta(f));
  if (owed) f.outbox.push({ entity: 'job', ...owed });
  if (e.type !== 'job.cancel_requested') return;
  const chunks = Array.from(
    { length: after.context.chunks.total },
    (_, i) => f.entities.chunk.get(chunkId(id, i)) as ChunkSnapshot | undefined,
  );
  const child = (c: string) => f.entities.job.get(c) as JobSnapshot | undefined;
  const plan = cancelCascade(id, after, chunks, child, { ...meta(f), reason: 'cancel' });
  for (const command of plan.job) f.outbox.push({ entity: 'job', id, command });
  for (const c of plan.chunks) {
    // The scheduler asks a live worker's kill in the same step as its chunk's cancel (rules.ts
    // `killAhead`); the two appends race, so here the kill goes first, and either may come late.
    const chunk = chunkOf(f, c.id);
    const { worker } = chunk.context;
    const w = worker === undefined ? undefined : workerOf(f, worker);
    const live = isIn(chunk, ['assigned', 'running']) && w && isIn(w, ['launching', 'running']);
    if (worker && live && !w.context.killRequested)
      f.outbox.push({ entity: 'worker', id: worker, command: killRequest(f, worker) });
    f.outbox.push({ entity: 'chunk', ...c });
  }
  for (const c of plan.children) f.outbox.push({ entity: 'job', ...c });
}

/** Deliver up to `n` outbox commands (FIFO; `twice`: each again at once, as a retry would). */
export function deliver(f: Farm, n: number, twice = false): void {
  for (let i = 0; i < n && f.outbox.length; i++) {
    const { entity, id, command } = f.outbox.shift() as Farm['outbox'][number];
    exec(f, entity, id, command as never);
    if (twice) exec(f, entity, id, command as never);
    if (entity === 'worker') continue;
    closeJob(f, entity === 'job' ? id : parseChunkId(id).jobId);
  }
}

/** The scheduler's verdict on a job whose facts are all in: close, complete or fail it. */
export function closeJob(f: Farm, jobId: string): void {
  const job = jobOf(f, jobId);
  const closing = closingCommand(job, meta(f));
  if (closing) exec(f, 'job', jobId, closing);
  else if (!job.hasTag('terminal') && nameOf(job) !== 'cancelling' && allSettled(job.context)) {
    const data = { cause: 'ExitNonZero' as const, message: 'a chunk failed' };
    exec(f, 'job', jobId, { type: 'FailJob', ...meta(f), data });
  }
}

/** The farm after set-up: nodes ready, P and C1 queued with their chunks, C2 only submitted. */
export function createFarm(onAppend: Farm['onAppend'] = () => {}): Farm {
  const f: Farm = {
    entities: {
      job: new Map(),
      chunk: new Map(),
      worker: new Map(),
      node: new Map(),
      calendar: new Map(),
      reservation: new Map(),
      alert: new Map(),
      runbook: new Map(),
      session: new Map(),
      policy: new Map(),
      workflow: new Map(),
      run: new Map(),
      promise: new Map(),
    },
    ...{ log: [], ids: new Set(), outbox: [], violations: [], onAppend, seq: 0 },
  };
  for (const n of NODES) registerNode(f, n, 'i0');
  exec(f, 'job', 'P', { type: 'SubmitJob', ...meta(f), data: spec({ chunks: JOBS.P }) });
  for (const child of ['C1', 'C2'] as const) {
    const data = spec({ chunks: JOBS[child], parent: 'P' });
    exec(f, 'job', child, { type: 'SubmitJob', ...meta(f), data });
    exec(f, 'job', 'P', { type: 'AddChild', ...meta(f), data: { childId: child } });
  }
  exec(f, 'job', 'P', { type: 'AddChild', ...meta(f), data: { childId: 'C3' } });
  queueJob(f, 'P');
  queueJob(f, 'C1');
  return f;
}

/**
 * C3's submission, which its parent added first: made only while P is open, as the intake and
 * the timekeeper make a child only under an open parent.
 */
export function submitLateChild(f: Farm): void {
  if (nameOf(jobOf(f, 'C3')) !== 'none' || !isIn(jobOf(f, 'P'), OPEN)) return;
  const data = spec({ chunks: JOBS.C3, parent: 'P' });
  exec(f, 'job', 'C3', { type: 'SubmitJob', ...meta(f), data });
  queueJob(f, 'C3');
}

/** An agent (re)starts on `node` with a new incarnation and reports ready. */
export function registerNode(f: Farm, node: string, incarnation: string): void {
  const data = { hostname: node, cpus: 4, memMb: 4096, gpus: 0, labels: {}, incarnation };
  exec(f, 'node', node, { type: 'RegisterNode', ...meta(f), data });
  exec(f, 'node', node, { type: 'MarkReady', ...meta(f) });
}

/** Queue a submitted job and create its chunks. */
export function queueJob(f: Farm, jobId: string): void {
  if (!exec(f, 'job', jobId, { type: 'QueueJob', ...meta(f) }).ok) return;
  const { total } = jobOf(f, jobId).context.chunks;
  for (let index = 0; index < total; index++) {
    const data = { jobId, index, total };
    exec(f, 'chunk', chunkId(jobId, index), { type: 'CreateChunk', ...meta(f), data });
  }
}

/** Place a waiting chunk on a ready node: the next attempt, and its worker launching. */
export function schedule(f: Farm, cid: string, node: string): void {
  const { jobId, index, attempt: last } = chunkOf(f, cid).context;
  if (!isIn(jobOf(f, jobId), ['queued', 'running'])) return;
  // A child of a parent that is not open is never placed (round-tasks `parentClosed`).
  const parent = jobOf(f, jobId).context.spec?.parent;
  if (parent !== undefined && !isIn(jobOf(f, parent), OPEN)) return;
  if (!isIn(f.entities.node.get(node), ['ready'])) return;
  const attempt = last + 1;
  const worker = workerId(jobId, index, attempt);
  const data = { attempt, node, worker, request };
  if (!exec(f, 'chunk', cid, { type: 'AssignChunk', ...meta(f), data }).ok) return;
  const launch = { jobId, chunk: index, attempt, node, memLimitMb: 64 };
  exec(f, 'worker', worker, { type: 'LaunchWorker', ...meta(f), data: launch });
  if (nameOf(jobOf(f, jobId)) === 'queued') exec(f, 'job', jobId, { type: 'StartJob', ...meta(f) });
}

/** The process group of `wid` ended by itself (`exitCode`) or was killed; its chunk is told. */
export function endProcess(f: Farm, wid: string, how: 'exit' | 'kill', exitCode = 0): void {
  const m = meta(f);
  const cause = how === 'kill' ? 'Cancelled' : exitCode === 0 ? 'Succeeded' : 'ExitNonZero';
  const command: WorkerCommand =
    how === 'kill'
      ? { type: 'ReportKilled', ...m, data: { ...usage, signal: 'SIGKILL', cause } }
      : { type: 'ReportExited', ...m, data: { ...usage, exitCode, signal: null, cause } };
  if (exec(f, 'worker', wid, command).ok) processGone(f, wid, cause);
}

/** A process group is gone: what that means for its chunk's attempt. */
export function processGone(f: Farm, wid: string, cause: FailureCause): void {
  const w = workerOf(f, wid).context;
  const cid = chunkId(w.jobId, w.chunk);
  const c = chunkOf(f, cid);
  const { attempt } = w;
  const current = c.context.attempt === attempt;
  const m = meta(f);
  if (current && nameOf(c) === 'cancelling') {
    exec(f, 'chunk', cid, { type: 'ConfirmCancelled', ...m, data: { attempt, confirmed: true } });
  } else if (current && cause === 'Succeeded' && nameOf(c) === 'running') {
    exec(f, 'chunk', cid, { type: 'ReportResult', ...m, data: { attempt, result: { by: wid } } });
  } else if (current && isIn(c, ['assigned', 'running'])) {
    const data = {
      attempt,
      cause: cause === 'Succeeded' ? 'LaunchFailed' : cause,
      confirmed: true,
    };
    exec(f, 'chunk', cid, { type: 'ReportAttemptFailed', ...m, data });
    retryOrFail(f, cid);
  } else if (c.context.unconfirmed.includes(attempt)) {
    exec(f, 'chunk', cid, { type: 'ConfirmProcessStopped', ...m, data: { attempt } });
  }
}

/** The node of a process group stopped answering: its attempt ends, unconfirmed. */
export function processLost(f: Farm, wid: string, cause: 'NodeLost' | 'AgentRestarted'): void {
  exec(f, 'worker', wid, { type: 'MarkLost', ...meta(f), data: { cause, reason: 'silent' } });
  const { jobId, chunk, attempt } = workerOf(f, wid).context;
  const cid = chunkId(jobId, chunk);
  const c = chunkOf(f, cid);
  if (c.context.attempt !== attempt) return;
  const m = meta(f);
  if (nameOf(c) === 'cancelling') {
    exec(f, 'chunk', cid, { type: 'ConfirmCancelled', ...m, data: { attempt, confirmed: false } });
  } else if (isIn(c, ['assigned', 'running'])) {
    const data = { attempt, cause, confirmed: false };
    exec(f, 'chunk', cid, { type: 'ReportAttemptFailed', ...m, data });
    retryOrFail(f, cid);
  }
}

/** The scheduler's retry policy, reduced: at most MAX_ATTEMPTS attempts, then failed. */
function retryOrFail(f: Farm, cid: string): void {
  const c = chunkOf(f, cid);
  if (nameOf(c) !== 'retry_wait' || c.context.attempts.length < MAX_ATTEMPTS) return;
  const data = { cause: 'ExitNonZero' as const, message: 'no retries left' };
  exec(f, 'chunk', cid, { type: 'FailChunk', ...meta(f), data });
}

/** Workers in one of `states`, optionally on one node, in id order. */
export function workersIn(f: Farm, states: readonly string[], node?: string): string[] {
  const on = (w: unknown) => !node || (w as WorkerSnapshot).context.node === node;
  return [...f.entities.worker]
    .filter(([, w]) => isIn(w, states) && on(w))
    .map(([id]) => id)
    .sort();
}

/** Chunks in one of `states`, in id order. */
export function chunksIn(f: Farm, states: readonly string[]): string[] {
  return [...f.entities.chunk]
    .filter(([, c]) => isIn(c, states))
    .map(([id]) => id)
    .sort();
}

/** Ground truth: what under `jobId` still runs or may run (chunks, child jobs, processes). */
export function liveDescendants(f: Farm, jobId: string): string[] {
  const job = jobOf(f, jobId);
  const chunks = Array.from({ length: job.context.chunks.total }, (_, i) =>
    chunkId(jobId, i),
  ).filter((cid) => {
    const c = f.entities.chunk.get(cid) as ChunkSnapshot | undefined;
    return c && (!c.hasTag('terminal') || c.context.unconfirmed.length > 0);
  });
  const workers = workersIn(f, LIVE_WORKER).filter((w) => w.startsWith(`${jobId}:`));
  // A child never submitted runs nothing (and, its parent no longer open, never will).
  const children = Object.keys(job.context.children).flatMap((child) => [
    ...(jobOf(f, child).hasTag('terminal') || nameOf(jobOf(f, child)) === 'none' ? [] : [child]),
    ...liveDescendants(f, child),
  ]);
  return [...chunks, ...workers, ...children];
}
