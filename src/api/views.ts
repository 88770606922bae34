import { stateName, type JobSnapshot } from '../actors/index.js';
import {
  chunkId,
  type Environment,
  type MemSizingRecord,
  type PendingReason,
  type PinnedEnvironment,
} from '../events/index.js';
import { LIVE_WORKER_STATES, type ReadModel } from './read-model.js';

/** One attempt of a chunk (CONTRACT `job` shape). */
export interface AttemptView {
  attempt: number;
  worker: string;
  node: string;
  state: string;
  cause?: string;
  exitCode?: number;
  signal?: string;
  peakRssMb?: number;
  cpuSeconds?: number;
  startedAt?: number;
  endedAt?: number;
  /** The agent's words on how the attempt ended when it did not succeed (`worker.exited`). */
  message?: string;
}

export interface ChunkView {
  index: number;
  state: string;
  progress?: number;
  checkpoint?: string;
  result?: unknown;
  attempts: AttemptView[];
}

/** A job as `drover show` and `drover.api.job.get` return it (CONTRACT `job` shape). */
export interface JobView {
  id: string;
  name: string;
  user: string;
  pool: string;
  state: JobState;
  priority: number;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  parent?: string;
  children: string[];
  after: string[];
  request: { cpus: number; memMb: number; gpus: number };
  /** How `request.memMb` was decided when it came from `--mem auto` (rule, runs, peak; or the fallback). */
  memSizing?: MemSizingRecord;
  command: string[];
  /** Where the process runs (absolute; the CLI records the directory submit ran in). */
  cwd?: string;
  /** The time limit of each attempt, in seconds. */
  timeoutS?: number;
  retries: number;
  chunks: ChunkView[];
  /** Why it waits: only while something of it waits (stale reasons of a started job are not shown). */
  pending?: PendingReason[];
  outcome?: { cause: string; message: string };
  resultsCleared: boolean;
  /** What the latest started attempt ran in (CONTRACT "Operations"); absent before any started. */
  environment?: Environment;
  /** `drover resubmit`: the job this one is a copy of. */
  resubmitOf?: string;
  /** `resubmit --same-environment`: what its attempts must find again before they start. */
  pinnedEnvironment?: PinnedEnvironment;
}

/** A row of `drover jobs` (CONTRACT `jobs` shape). */
export interface JobRow {
  id: string;
  name: string;
  user: string;
  pool: string;
  state: JobState;
  createdAt: number;
  chunks: { total: number; done: number };
}

/** A row of `drover nodes` (CONTRACT `nodes` shape). */
export interface NodeView {
  id: string;
  state: string;
  cpus: number;
  memMb: number;
  gpus: number;
  labels: Record<string, string>;
  used: { cpus: number; memMb: number; gpus: number };
  workers: number;
  lastHeartbeatAt: number | null;
}

/** The public job states of CONTRACT.md (`submitted` reads as `queued`). */
export type JobState =
  'queued' | 'held' | 'running' | 'succeeded' | 'failed' | 'cancelling' | 'cancelled';
export const JOB_STATES: readonly JobState[] = [
  'queued',
  'held',
  'running',
  'succeeded',
  'failed',
  'cancelling',
  'cancelled',
];
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

/** The public state of a job snapshot; undefined when the job does not exist. Pure. */
export function publicState(job: JobSnapshot): JobState | undefined {
  const s = stateName(job);
  if (s === 'none') return undefined;
  return s === 'submitted' ? 'queued' : (s as JobState);
}

function attemptsOf(model: ReadModel, chunk: string): AttemptView[] {
  const c = model.chunks.get(chunk);
  if (!c) return [];
  return c.context.attempts.map((a) => {
    const w = model.workers.get(a.worker);
    const ctx = w?.snapshot.context;
    const cause = a.cause ?? ctx?.cause;
    const exitCode = a.exitCode ?? ctx?.exitCode ?? undefined;
    const signal = a.signal ?? ctx?.signal ?? undefined;
    return {
      attempt: a.attempt,
      worker: a.worker,
      node: a.node,
      state: w ? stateName(w.snapshot) : 'assigned',
      ...(cause !== undefined && { cause }),
      ...(exitCode !== undefined && { exitCode }),
      ...(signal !== undefined && { signal }),
      ...(ctx && { peakRssMb: ctx.peakRssMb, cpuSeconds: ctx.cpuSeconds }),
      ...(w?.startedAt !== undefined && { startedAt: w.startedAt }),
      ...(w?.endedAt !== undefined && { endedAt: w.endedAt }),
      ...(ctx?.message !== undefined && { message: ctx.message }),
    };
  });
}

/** A chunk's view, or a `pending` placeholder when its creation is not folded yet. Pure. */
export function chunkView(model: ReadModel, jobId: string, index: number): ChunkView {
  const c = model.chunks.get(chunkId(jobId, index));
  if (!c) return { index, state: 'pending', attempts: [] };
  const ctx = c.context;
  return {
    index,
    state: stateName(c),
    ...(ctx.progress !== undefined && { progress: ctx.progress }),
    ...(ctx.checkpoint !== undefined && { checkpoint: ctx.checkpoint }),
    ...(ctx.result !== undefined && { result: ctx.result }),
    attempts: attemptsOf(model, chunkId(jobId, index)),
  };
}

/** At most this many chunks are listed by `jobView` (a million-chunk job stays answerable). */
export const MAX_CHUNKS_SHOWN = 10_000;

/** The CONTRACT `job` shape of job `id`; undefined when it does not exist. Pure. */
export function jobView(model: ReadModel, id: string): JobView | undefined {
  const job = model.jobs.get(id);
  const state = job && publicState(job);
  if (!job || !state || !job.context.spec) return undefined;
  const { spec, pending, outcome } = job.context;
  const ctx = job.context;
  const shown = Math.min(spec.chunks, MAX_CHUNKS_SHOWN);
  const reasons = pending?.reasons ?? [];
  const chunks = Array.from({ length: shown }, (_, i) => chunkView(model, id, i));
  return {
    id,
    name: spec.name,
    user: spec.user,
    pool: spec.pool,
    state,
    priority: ctx.priority,
    createdAt: ctx.createdAt ?? 0,
    ...(ctx.startedAt !== undefined && { startedAt: ctx.startedAt }),
    ...(ctx.endedAt !== undefined && { endedAt: ctx.endedAt }),
    ...(spec.parent !== undefined && { parent: spec.parent }),
    children: Object.keys(ctx.children),
    after: [...spec.after],
    request: { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus },
    ...(spec.memSizing && { memSizing: spec.memSizing }),
    command: [...spec.command],
    ...(spec.cwd !== undefined && { cwd: spec.cwd }),
    ...(spec.timeoutS !== undefined && { timeoutS: spec.timeoutS }),
    retries: spec.retries,
    chunks,
    ...(waits(state, chunks) && reasons.length > 0 && { pending: [...reasons] }),
    ...(outcome && { outcome: { cause: outcome.cause, message: outcome.message } }),
    resultsCleared: ctx.resultsCleared,
    ...withEnvironment(latestEnvironment(model, id, shown)),
    ...(spec.resubmitOf !== undefined && { resubmitOf: spec.resubmitOf }),
    ...(spec.pinnedEnvironment !== undefined && { pinnedEnvironment: spec.pinnedEnvironment }),
  };
}

const withEnvironment = (e: Environment | undefined) => (e ? { environment: e } : {});

/**
 * The environment of the job's latest started attempt (the latest `worker.started` among its
 * first `shown` chunks), independent of whether the chunk list itself is asked for. Pure.
 */
export function latestEnvironment(
  model: ReadModel,
  jobId: string,
  shown: number,
): Environment | undefined {
  let best: { at: number; environment: Environment } | undefined;
  for (let i = 0; i < shown; i++) {
    const c = model.chunks.get(chunkId(jobId, i));
    for (const a of c?.context.attempts ?? []) {
      const w = model.workers.get(a.worker);
      if (w?.environment === undefined || w.startedAt === undefined) continue;
      if (!best || w.startedAt >= best.at) best = { at: w.startedAt, environment: w.environment };
    }
  }
  return best?.environment;
}

/** Whether a job's pending reasons still apply: it waits, or it runs with chunks still waiting. */
function waits(state: JobState, chunks: readonly ChunkView[]): boolean {
  if (state === 'queued' || state === 'held') return true;
  return (
    state === 'running' && chunks.some((c) => c.state === 'pending' || c.state === 'retry_wait')
  );
}

/** Filters of `drover jobs`: by default only jobs that are not terminal. */
export interface JobFilter {
  user?: string;
  state?: JobState;
  all?: boolean;
  limit?: number;
}

/** The CONTRACT `jobs` rows, oldest first (at most `limit`, default 10,000). Pure. */
export function jobList(model: ReadModel, filter: JobFilter = {}): JobRow[] {
  const rows: JobRow[] = [];
  const limit = filter.limit ?? 10_000;
  for (const row of jobRows(model, filter)) {
    rows.push(row);
    if (rows.length >= limit) break;
  }
  return rows;
}

/**
 * The CONTRACT `jobs` rows that `filter` keeps, oldest first (the model's order), lazily; with
 * `afterSeq`, those whose `job.submitted` came after that stream sequence (`ReadModel.jobSeqs`:
 * the model holds jobs in that order, so the rows before it are a prefix). Pure.
 */
export function* jobRows(
  model: ReadModel,
  filter: JobFilter,
  afterSeq?: number,
): Generator<JobRow> {
  let skipping = afterSeq !== undefined;
  for (const [id, job] of model.jobs) {
    if (skipping) {
      if ((model.jobSeqs.get(id) ?? 0) <= (afterSeq as number)) continue;
      skipping = false;
    }
    const state = publicState(job);
    const spec = job.context.spec;
    if (!state || !spec) continue;
    if (filter.user !== undefined && spec.user !== filter.user) continue;
    if (filter.state !== undefined && state !== filter.state) continue;
    if (filter.state === undefined && !filter.all && TERMINAL_STATES.has(state)) continue;
    yield {
      id,
      name: spec.name,
      user: spec.user,
      pool: spec.pool,
      state,
      createdAt: job.context.createdAt ?? 0,
      chunks: { total: spec.chunks, done: job.context.chunks.settled },
    };
  }
}

/** The CONTRACT `nodes` rows: capacity, what live chunks use, live workers, last heartbeat. Pure. */
export function nodeList(model: ReadModel): NodeView[] {
  const used = new Map<string, { cpus: number; memMb: number; gpus: number }>();
  for (const [chunk, node] of model.liveChunks) {
    const request = model.chunks.get(chunk)?.context.request;
    if (!request) continue;
    const u = used.get(node) ?? { cpus: 0, memMb: 0, gpus: 0 };
    used.set(node, {
      cpus: u.cpus + request.cpus,
      memMb: u.memMb + request.memMb,
      gpus: u.gpus + request.gpus,
    });
  }
  const workers = new Map<string, number>();
  for (const w of model.workers.values()) {
    if (!LIVE_WORKER_STATES.has(stateName(w.snapshot))) continue;
    const node = w.snapshot.context.node;
    workers.set(node, (workers.get(node) ?? 0) + 1);
  }
  return [...model.nodes].map(([id, n]) => ({
    id,
    state: stateName(n),
    cpus: n.context.cpus,
    memMb: n.context.memMb,
    gpus: n.context.gpus,
    labels: { ...n.context.labels },
    used: used.get(id) ?? { cpus: 0, memMb: 0, gpus: 0 },
    workers: workers.get(id) ?? 0,
    lastHeartbeatAt: model.heartbeats.get(id)?.at ?? null,
  }));
}

/** A row of `drover calendar list` (CONTRACT): the latest version and the dates it covers. */
export interface CalendarRow {
  name: string;
  version: number;
  timezone: string;
  /** First and last date the calendar's data covers (null when it states no dates). */
  from: string | null;
  to: string | null;
}

/** One session of `drover calendar sessions` (CONTRACT): ISO 8601 with the calendar's offset. */
export interface SessionView {
  date: string;
  open: string;
  close: string;
}
