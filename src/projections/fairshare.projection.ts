import type { Resources } from '../events/index.js';
import {
  addUsage,
  defaultFairShareConfig,
  emptyHistory,
  type FairShareConfig,
  type UsageHistory,
} from '../policy/index.js';
import {
  applyWith,
  copyJson,
  idOf,
  jobOf,
  mapFromJson,
  mapToJson,
  obj,
  type Handlers,
  type Json,
  type Projection,
  type RecordedOf,
} from './projection.js';

/** Usage facts kept per user for provenance (the most recent). */
export const FACTS_PER_USER = 20;

/** What the queue needs of a job that still has active chunks. */
export interface FairJob {
  user: string;
  pool: string;
  submittedAt: number;
  order: number;
  priority: number;
  globalFront: boolean;
  request: Resources;
  labels: Record<string, string>;
  excludeNodes: string[];
}

/** An active chunk: waiting (`running: false`) or running on `node` with `request`. */
export interface FairChunk {
  running: boolean;
  request?: Resources;
  node?: string;
  avoidNodes?: string[];
  notBefore?: number;
  partial?: boolean;
}

/** One usage fact of the history: a worker that ended, request × wall, at its end. */
export interface UsageFact {
  worker: string;
  seq: number;
  at: number;
  resourceSeconds: Resources;
}

/** The fair-share state. Owned and mutated by `apply` (see `Projection`). */
export interface FairshareState {
  jobs: Map<string, FairJob>;
  chunks: Map<string, FairChunk>;
  /** worker id → user, request and start, from its `chunk.assigned`. */
  workers: Map<string, { user: string; request: Resources; start: number }>;
  nodes: Map<string, { capacity: Resources; up: boolean }>;
  history: UsageHistory;
  facts: Map<string, UsageFact[]>;
}

function endWorker(
  s: FairshareState,
  e: RecordedOf<'worker.exited' | 'worker.killed' | 'worker.lost'>,
  wallSeconds: number | undefined,
  halfLifeS: number,
): void {
  const id = idOf(e.recorded.subject);
  const w = s.workers.get(id);
  if (!w) return;
  s.workers.delete(id);
  const wall = Math.max(0, wallSeconds ?? (e.at - w.start) / 1000);
  const rs = {
    cpus: w.request.cpus * wall,
    memMb: w.request.memMb * wall,
    gpus: w.request.gpus * wall,
  };
  s.history = addUsage(s.history, w.user, e.at, rs, halfLifeS);
  let facts = s.facts.get(w.user);
  if (!facts) s.facts.set(w.user, (facts = []));
  facts.push({ worker: id, seq: e.recorded.seq, at: e.at, resourceSeconds: rs });
  if (facts.length > 2 * FACTS_PER_USER) facts.splice(0, facts.length - FACTS_PER_USER);
}

function waiting(s: FairshareState, chunk: string): FairChunk | undefined {
  const c = s.chunks.get(chunk);
  if (c) {
    c.running = false;
    delete c.node;
  }
  return c;
}

function handlers(halfLifeS: number): Handlers<FairshareState> {
  const done = (s: FairshareState, e: { recorded: { subject: string } }) => {
    s.chunks.delete(idOf(e.recorded.subject));
  };
  const jobDone = (s: FairshareState, e: { recorded: { subject: string } }) => {
    s.jobs.delete(idOf(e.recorded.subject));
  };
  return {
    'job.submitted': (s, e) => {
      const d = e.data;
      s.jobs.set(idOf(e.recorded.subject), {
        user: d.user,
        pool: d.pool,
        submittedAt: e.at,
        order: e.recorded.seq,
        priority: d.priority,
        globalFront: false,
        request: { cpus: d.cpus, memMb: d.memMb, gpus: d.gpus },
        labels: d.labels,
        excludeNodes: d.excludeNodes,
      });
    },
    'job.priority_changed': (s, e) => {
      const job = s.jobs.get(idOf(e.recorded.subject));
      if (job) [job.priority, job.globalFront] = [e.data.priority, e.data.global];
    },
    'job.succeeded': jobDone,
    'job.failed': jobDone,
    'job.cancelled': jobDone,
    'chunk.created': (s, e) => {
      const id = idOf(e.recorded.subject);
      if (!s.chunks.has(id)) s.chunks.set(id, { running: false });
    },
    'chunk.assigned': (s, e) => {
      const id = idOf(e.recorded.subject);
      const c: FairChunk = s.chunks.get(id) ?? { running: false };
      s.chunks.set(
        id,
        Object.assign(c, { running: true, request: e.data.request, node: e.data.node }),
      );
      const job = s.jobs.get(jobOf(id));
      if (job)
        s.workers.set(e.data.worker, { user: job.user, request: e.data.request, start: e.at });
    },
    'chunk.attempt_failed': (s, e) => {
      const c = waiting(s, idOf(e.recorded.subject));
      if (c && (e.data.cause === 'NodeLost' || e.data.cause === 'Preempted')) c.partial = true;
    },
    'chunk.retry_scheduled': (s, e) => {
      const c = waiting(s, idOf(e.recorded.subject));
      if (!c) return;
      c.request = e.data.request;
      c.avoidNodes = e.data.avoidNodes;
      c.notBefore = e.data.notBefore;
    },
    'chunk.succeeded': done,
    'chunk.failed': done,
    'chunk.cancelled': done,
    'worker.exited': (s, e) => endWorker(s, e, e.data.wallSeconds, halfLifeS),
    'worker.killed': (s, e) => endWorker(s, e, e.data.wallSeconds, halfLifeS),
    'worker.lost': (s, e) => endWorker(s, e, undefined, halfLifeS),
    'node.registered': (s, e) => {
      const { cpus, memMb, gpus } = e.data;
      s.nodes.set(idOf(e.recorded.subject), { capacity: { cpus, memMb, gpus }, up: true });
    },
    'node.ready': (s, e) => setUp(s, idOf(e.recorded.subject), true),
    'node.lost': (s, e) => setUp(s, idOf(e.recorded.subject), false),
    'node.offline': (s, e) => setUp(s, idOf(e.recorded.subject), false),
  };
}

function setUp(s: FairshareState, node: string, up: boolean): void {
  const n = s.nodes.get(node);
  if (n) n.up = up;
}

/**
 * The fair-share projection with `config`'s half-life (the history is decayed as it is folded,
 * with the policy's own `addUsage`, so `drover fairshare` and the scheduler agree). Pure fold;
 * state owned (see `Projection`). Usage facts: a worker's request × its wall time, at its end.
 */
export function createFairshareProjection(
  config: FairShareConfig = defaultFairShareConfig,
): Projection<FairshareState> {
  const table = handlers(config.halfLifeS);
  return {
    name: 'fairshare',
    version: 1,
    initial: () => ({
      jobs: new Map(),
      chunks: new Map(),
      workers: new Map(),
      nodes: new Map(),
      history: emptyHistory(),
      facts: new Map(),
    }),
    apply: applyWith(table),
    handlers: table,
    snapshot: (s) => ({
      jobs: mapToJson(s.jobs, (j) => copyJson(j) as unknown as Json),
      chunks: mapToJson(s.chunks, (c) => copyJson(c) as unknown as Json),
      workers: mapToJson(s.workers, (w) => copyJson(w) as unknown as Json),
      nodes: mapToJson(s.nodes, (n) => copyJson(n) as unknown as Json),
      history: copyJson(s.history) as unknown as Json,
      facts: mapToJson(s.facts, (f) => copyJson(f) as unknown as Json),
    }),
    restore: (j) => {
      const o = obj(j);
      const as = <T>(v: Json): T => copyJson(v) as unknown as T;
      return {
        jobs: mapFromJson(o.jobs, as<FairJob>),
        chunks: mapFromJson(o.chunks, as<FairChunk>),
        workers: mapFromJson(o.workers, as<{ user: string; request: Resources; start: number }>),
        nodes: mapFromJson(o.nodes, as<{ capacity: Resources; up: boolean }>),
        history: o.history ? as<UsageHistory>(o.history) : emptyHistory(),
        facts: mapFromJson(o.facts, as<UsageFact[]>),
      };
    },
  };
}

/** The fair-share projection with the POLICY defaults (half-life 24 h). */
export const fairshareProjection: Projection<FairshareState> = createFairshareProjection();
