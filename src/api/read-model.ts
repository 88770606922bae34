import {
  alertFold,
  calendarFold,
  runFold,
  workflowFold,
  type RunSnapshot,
  type WorkflowSnapshot,
  chunkFold,
  jobFold,
  nodeFold,
  promiseFold,
  reservationFold,
  runbookFold,
  sessionFold,
  policyFold,
  stateName,
  workerFold,
  type AlertSnapshot,
  type CalendarSnapshot,
  type ChunkSnapshot,
  type JobSnapshot,
  type NodeSnapshot,
  type PromiseSnapshot,
  type ReservationSnapshot,
  type RunbookSnapshot,
  type SessionSnapshot,
  type PolicySnapshot,
  type WorkerSnapshot,
} from '../actors/index.js';
import {
  parseEventSubject,
  type Environment,
  type Heartbeat,
  type NodeReading,
  type RecordedEvent,
} from '../events/index.js';

/** A worker as the read API needs it: its folded state plus when it started and ended. */
export interface WorkerEntry {
  readonly snapshot: WorkerSnapshot;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** What the attempt runs in, as its agent recorded it on `worker.started`. */
  readonly environment?: Environment;
}

/** What the last heartbeat of a node said (heartbeats are not events: they are not replayed). */
export interface HeartbeatEntry {
  readonly at: number;
  readonly workers: number;
  /** The node's last memory and swap reading, when its agent sends one. */
  readonly reading?: NodeReading;
}

/**
 * The read model of the API: every entity folded through its own machine, so the API answers
 * exactly what the deciders see. Owned and mutated by `applyEvent` / `applyHeartbeat` (like the
 * projections: a million entities are not copied per event). Pure: no I/O, no clock.
 */
export interface ReadModel {
  /** The last stream sequence folded in. */
  seq: number;
  readonly jobs: Map<string, JobSnapshot>;
  /**
   * Each job's place in the list: the stream sequence of its `job.submitted`, the event that put
   * it in `jobs` (so `jobs` iterates in ascending order of it). A paging cursor resolves to it,
   * so a page can go on after a job that has since left the model (`jobPage`).
   */
  readonly jobSeqs: Map<string, number>;
  readonly chunks: Map<string, ChunkSnapshot>;
  readonly workers: Map<string, WorkerEntry>;
  readonly nodes: Map<string, NodeSnapshot>;
  readonly heartbeats: Map<string, HeartbeatEntry>;
  /** Calendars by name, every version of each. */
  readonly calendars: Map<string, CalendarSnapshot>;
  /** Reservations by name (deleted ones too: names are not reused). */
  readonly reservations: Map<string, ReservationSnapshot>;
  /** Alerts by id, every occurrence (the evaluator's and `drover alerts`'). */
  readonly alerts: Map<string, AlertSnapshot>;
  /** Runbook runs by id (the dashboard shows those in progress). */
  readonly runbooks: Map<string, RunbookSnapshot>;
  /** Interactive sessions and allocations by id (`drover sessions`, the dashboard's panel). */
  readonly sessions: Map<string, SessionSnapshot>;
  /** Policy entities by domain (`fairshare`, `quotas`): the version in force of each. */
  readonly policies: Map<string, PolicySnapshot>;
  /** Workflows by name (every version) and runs by id (`NAME@DATE`). */
  readonly workflows: Map<string, WorkflowSnapshot>;
  readonly runs: Map<string, RunSnapshot>;
  /** Start-by promises by job id, with the sequence of their `promise.accepted` (the proof). */
  readonly promises: Map<string, PromiseEntry>;
  /** Chunks with a live attempt (`assigned`, `running`, `cancelling`) → their node. */
  readonly liveChunks: Map<string, string>;
  /** Events the machines refused (the deciders never append those; counted, then skipped). */
  skipped: number;
}

/** An empty read model. Pure. */
export function emptyReadModel(): ReadModel {
  return {
    seq: 0,
    jobs: new Map(),
    jobSeqs: new Map(),
    chunks: new Map(),
    workers: new Map(),
    nodes: new Map(),
    heartbeats: new Map(),
    calendars: new Map(),
    reservations: new Map(),
    alerts: new Map(),
    runbooks: new Map(),
    sessions: new Map(),
    policies: new Map(),
    workflows: new Map(),
    runs: new Map(),
    promises: new Map(),
    liveChunks: new Map(),
    skipped: 0,
  };
}

/** Chunk states in which an attempt holds resources on a node. */
export const LIVE_CHUNK_STATES: ReadonlySet<string> = new Set([
  'assigned',
  'running',
  'cancelling',
]);
/** Worker states in which a process may still run (a lost one is not confirmed stopped). */
export const LIVE_WORKER_STATES: ReadonlySet<string> = new Set(['launching', 'running', 'lost']);

function evolveInto<S>(
  map: Map<string, S>,
  id: string,
  fold: { initial(): S; tryEvolve(s: S, e: RecordedEvent): S | undefined },
  event: RecordedEvent,
): S | undefined {
  const next = fold.tryEvolve(map.get(id) ?? fold.initial(), event);
  if (next !== undefined) map.set(id, next);
  return next;
}

function applyJob(model: ReadModel, id: string, event: RecordedEvent): boolean {
  const known = model.jobs.has(id);
  if (!evolveInto(model.jobs, id, jobFold, event)) return false;
  if (!known) model.jobSeqs.set(id, event.recorded.seq);
  return true;
}

function applyChunk(model: ReadModel, id: string, event: RecordedEvent): boolean {
  const next = evolveInto(model.chunks, id, chunkFold, event);
  if (!next) return false;
  if (LIVE_CHUNK_STATES.has(stateName(next)) && next.context.node !== undefined) {
    model.liveChunks.set(id, next.context.node);
  } else model.liveChunks.delete(id);
  return true;
}

function applyWorker(model: ReadModel, id: string, event: RecordedEvent): boolean {
  const prior = model.workers.get(id);
  const snapshot = workerFold.tryEvolve(prior?.snapshot ?? workerFold.initial(), event);
  if (!snapshot) return false;
  const entry: { -readonly [K in keyof WorkerEntry]: WorkerEntry[K] } = { ...prior, snapshot };
  if (event.type === 'worker.started' || event.type === 'worker.readopted') {
    entry.startedAt ??= event.at;
  }
  if (event.type === 'worker.started' && event.data.environment) {
    entry.environment = event.data.environment;
  }
  if (event.type === 'worker.exited' || event.type === 'worker.killed') entry.endedAt = event.at;
  model.workers.set(id, entry);
  return true;
}

/** A promise in the read model: its fold and the sequence of its acceptance. */
export interface PromiseEntry {
  readonly snapshot: PromiseSnapshot;
  readonly acceptedSeq: number;
}

function applyPromise(model: ReadModel, id: string, event: RecordedEvent): boolean {
  const prior = model.promises.get(id);
  const snapshot = promiseFold.tryEvolve(prior?.snapshot ?? promiseFold.initial(), event);
  if (!snapshot) return false;
  model.promises.set(id, { snapshot, acceptedSeq: prior?.acceptedSeq ?? event.recorded.seq });
  return true;
}

/**
 * Fold one recorded event into the model. Events the entity's machine refuses are skipped and
 * counted (they cannot come from Drover's own writers). Pure; mutates `model`.
 */
export function applyEvent(model: ReadModel, event: RecordedEvent): ReadModel {
  model.seq = Math.max(model.seq, event.recorded.seq);
  const target = parseEventSubject(event.recorded.subject);
  if (!target) return model;
  let ok: boolean;
  switch (target.entity) {
    case 'job':
      ok = applyJob(model, target.id, event);
      break;
    case 'chunk':
      ok = applyChunk(model, target.id, event);
      break;
    case 'worker':
      ok = applyWorker(model, target.id, event);
      break;
    case 'node':
      ok = evolveInto(model.nodes, target.id, nodeFold, event) !== undefined;
      break;
    case 'calendar':
      ok = evolveInto(model.calendars, target.id, calendarFold, event) !== undefined;
      break;
    case 'reservation':
      ok = evolveInto(model.reservations, target.id, reservationFold, event) !== undefined;
      break;
    case 'alert':
      ok = evolveInto(model.alerts, target.id, alertFold, event) !== undefined;
      break;
    case 'runbook':
      ok = evolveInto(model.runbooks, target.id, runbookFold, event) !== undefined;
      break;
    case 'session':
      ok = evolveInto(model.sessions, target.id, sessionFold, event) !== undefined;
      break;
    case 'policy':
      ok = evolveInto(model.policies, target.id, policyFold, event) !== undefined;
      break;
    case 'workflow':
      ok = evolveInto(model.workflows, target.id, workflowFold, event) !== undefined;
      break;
    case 'run':
      ok = evolveInto(model.runs, target.id, runFold, event) !== undefined;
      break;
    case 'promise':
      ok = applyPromise(model, target.id, event);
      break;
    default: {
      const _exhaustive: never = target.entity;
      return _exhaustive;
    }
  }
  if (!ok) model.skipped++;
  return model;
}

/** Record a node's heartbeat (newest wins). Pure; mutates `model`. */
export function applyHeartbeat(model: ReadModel, hb: Heartbeat): ReadModel {
  const prior = model.heartbeats.get(hb.node);
  if (!prior || prior.at <= hb.at) {
    const reading = hb.reading ?? prior?.reading;
    model.heartbeats.set(hb.node, {
      at: hb.at,
      workers: hb.workers.length,
      ...(reading && { reading }),
    });
  }
  return model;
}

/** The job and every descendant (children, their children...), parents first. Pure. */
export function descendants(model: ReadModel, id: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    const job = model.jobs.get(next);
    if (!job) continue;
    out.push(next);
    queue.push(...Object.keys(job.context.children));
  }
  return out;
}
