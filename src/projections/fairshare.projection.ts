import {
  fromPlain,
  policyFold,
  policyMachine,
  toPlain,
  type PlainSnapshot,
  type PolicyContext,
  type PolicySnapshot,
} from '../actors/index.js';
import { POLICY_IDS, type RecordedEvent, type Resources } from '../events/index.js';
import {
  defaultFairShareConfig,
  emptyHistory,
  fairShareConfigOf,
  foldUsage,
  type FairShareConfig,
  type VersionedConfig,
  type HeldWorker,
  type UsageHistory,
  type UsageLedger,
} from '../policy/index.js';
import {
  applyWith,
  copyJson,
  idOf,
  mapFromJson,
  mapToJson,
  obj,
  type Handlers,
  type Json,
  type Projection,
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

/**
 * The fair-share state. Owned and mutated by `apply` (see `Projection`). Its `workers` and
 * `history` are the policy's usage ledger, folded by the same `foldUsage` as the scheduler's.
 */
export interface FairshareState extends UsageLedger {
  jobs: Map<string, FairJob>;
  chunks: Map<string, FairChunk>;
  nodes: Map<string, { capacity: Resources; up: boolean }>;
  facts: Map<string, UsageFact[]>;
  /**
   * The `policy` entity `fairshare` folded through its machine (weights, half-life, λ and their
   * version): the same fold the scheduler keeps, so both read the same version at each point.
   */
  policy: PolicySnapshot;
}

/** The fair-share config in force in `s`: the log's policy version over `base`. Pure. */
export function configOfState(s: FairshareState, base: FairShareConfig): VersionedConfig {
  return fairShareConfigOf(s.policy.context, base);
}

function policyChange(s: FairshareState, e: RecordedEvent): void {
  if (idOf(e.recorded.subject) !== POLICY_IDS.fairshare) return;
  s.policy = policyFold.tryEvolve(s.policy, e) ?? s.policy;
}

/** Fold a worker's start or end into the usage ledger; keep a charge as a fact for provenance. */
function usage(s: FairshareState, e: RecordedEvent, baseHalfLifeS: number): void {
  // The half-life in force at this point of the log (as the scheduler's index folds it).
  const halfLifeS = s.policy.context.halfLifeS ?? baseHalfLifeS;
  const c = foldUsage(s, e, (jobId) => s.jobs.get(jobId)?.user, halfLifeS);
  if (!c) return;
  let facts = s.facts.get(c.user);
  if (!facts) s.facts.set(c.user, (facts = []));
  facts.push({ worker: c.worker, seq: c.seq, at: c.at, resourceSeconds: c.resourceSeconds });
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
      usage(s, e, halfLifeS);
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
    'worker.exited': (s, e) => usage(s, e, halfLifeS),
    'worker.killed': (s, e) => usage(s, e, halfLifeS),
    'worker.lost': (s, e) => usage(s, e, halfLifeS),
    'node.registered': (s, e) => {
      const { cpus, memMb, gpus } = e.data;
      s.nodes.set(idOf(e.recorded.subject), { capacity: { cpus, memMb, gpus }, up: true });
    },
    'node.ready': (s, e) => setUp(s, idOf(e.recorded.subject), true),
    'node.lost': (s, e) => setUp(s, idOf(e.recorded.subject), false),
    'node.offline': (s, e) => setUp(s, idOf(e.recorded.subject), false),
    'policy.weight_set': policyChange,
    'policy.fairshare_configured': policyChange,
  };
}

function setUp(s: FairshareState, node: string, up: boolean): void {
  const n = s.nodes.get(node);
  if (n) n.up = up;
}

/**
 * The fair-share projection with `config`'s half-life. Usage is folded by the policy's
 * `foldUsage`, the one the scheduler's index uses, so `drover fairshare` and the scheduler agree
 * (pinned by test/property/projections/fairshare-agreement.prop.test.ts). Pure fold; state owned
 * (see `Projection`). Usage facts: a worker's request × the seconds it held it, at its end.
 */
export function createFairshareProjection(
  config: FairShareConfig = defaultFairShareConfig,
): Projection<FairshareState> {
  const table = handlers(config.halfLifeS);
  return {
    name: 'fairshare',
    // 2: the policy entity joined the state (older checkpoints lack it: rebuilt from the log).
    version: 2,
    initial: () => ({
      jobs: new Map(),
      chunks: new Map(),
      workers: new Map(),
      nodes: new Map(),
      history: emptyHistory(),
      facts: new Map(),
      policy: policyFold.initial(),
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
      policy: copyJson(toPlain(s.policy)) as unknown as Json,
    }),
    restore: (j) => {
      const o = obj(j);
      const as = <T>(v: Json): T => copyJson(v) as unknown as T;
      return {
        jobs: mapFromJson(o.jobs, as<FairJob>),
        chunks: mapFromJson(o.chunks, as<FairChunk>),
        workers: mapFromJson(o.workers, as<HeldWorker>),
        nodes: mapFromJson(o.nodes, as<{ capacity: Resources; up: boolean }>),
        history: o.history ? as<UsageHistory>(o.history) : emptyHistory(),
        facts: mapFromJson(o.facts, as<UsageFact[]>),
        policy: o.policy
          ? fromPlain(policyMachine, as<PlainSnapshot<PolicyContext>>(o.policy))
          : policyFold.initial(),
      };
    },
  };
}

/** The fair-share projection with the POLICY defaults (half-life 24 h). */
export const fairshareProjection: Projection<FairshareState> = createFairshareProjection();
