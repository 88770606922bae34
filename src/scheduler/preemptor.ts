import { promiseBehaviour, stateName, type EntityRuntime } from '../actors/index.js';
import { chunkId, type Actor } from '../events/index.js';
import {
  planPreemptions,
  type FairShareConfig,
  type Preemption,
  type PreemptionParams,
  type PromiseNeed,
  type ResourceVector,
  type RunningWork,
} from '../policy/index.js';
import type { Logger } from 'pino';
import type { Action, Peek } from './rules.js';
import type { FarmIndex } from './farm-index.js';
import { nodeStates } from './placement-round.js';

/** A pending promise as the keeper holds it. */
export interface PendingPromise {
  readonly jobId: string;
  readonly startBy: number;
}

export interface PreemptorDeps {
  readonly peek: Peek;
  readonly index: FarmIndex;
  readonly runtime: EntityRuntime;
  readonly by: Actor;
  readonly canWrite: () => boolean;
  readonly logger: Logger;
  /** Pending promises whose job has not started. */
  readonly pending: () => Iterable<PendingPromise>;
  /** Capacity placements in flight hold, by node, and the chunks being placed. */
  readonly reserved: () => ReadonlyMap<string, ResourceVector>;
  readonly inFlight: () => ReadonlySet<string>;
  readonly config: () => FairShareConfig;
  readonly params: () => PreemptionParams;
  readonly standingExclusions?: (user: string) => readonly string[] | undefined;
  /** One action: appended (or refused) when it settles; kills are published. */
  readonly exec: (a: Action) => Promise<void>;
}

/**
 * The scheduler's side of preemption: once a second (the leader's tick: one decision round), it
 * gathers the promises whose jobs wait and are close to their start-by, asks the pure
 * `planPreemptions` which running attempts to stop, and acts through the log: `promise.preempted`
 * naming the promise and its victims first, then for each victim the existing stop path
 * (`worker.kill_requested` with reason `terminate`, then the kill to its agent: SIGTERM, the
 * grace, SIGKILL). The agent reports the attempt `Preempted`, which retries at once from the
 * chunk's checkpoint without using a retry. What was asked to stop is read back from the
 * promises' own events, so a new leader does not stop more for the same promise.
 */
export class Preemptor {
  private busy = false;

  constructor(private readonly deps: PreemptorDeps) {}

  tick(now: number): void {
    if (this.busy || !this.deps.canWrite()) return;
    const decisions = this.decide(now);
    if (decisions.length === 0) return;
    this.busy = true;
    void Promise.all(decisions.map((d) => this.act(d, now))).finally(() => {
      this.busy = false;
    });
  }

  /** The decision round at `now` (no I/O): what `tick` would act on. */
  decide(now: number): Preemption[] {
    const { deps } = this;
    const params = deps.params();
    const needs = this.needs(now, params);
    if (needs.length === 0) return [];
    const stopping = this.stopping();
    const running = this.running(needs);
    const config = deps.config();
    const weight = (u: string): number => {
      const w = Object.hasOwn(config.weights, u) ? config.weights[u] : undefined;
      return typeof w === 'number' ? w : 1;
    };
    const waitingUsers = new Set<string>();
    for (const jobId of deps.index.waiting.keys()) {
      const u = deps.peek.job(jobId)?.context.spec?.user;
      if (u !== undefined) waitingUsers.add(u);
    }
    return planPreemptions({
      now,
      nodes: nodeStates(deps.peek, deps.index, deps.reserved()),
      running,
      needs,
      stopping,
      waitingUsers: [...waitingUsers],
      weight,
      params,
    });
  }

  /** Promised jobs still waiting whose start-by is within two leads (earlier: wait and see). */
  private needs(now: number, params: PreemptionParams): PromiseNeed[] {
    const { peek, index } = this.deps;
    const inFlight = this.deps.inFlight();
    const out: PromiseNeed[] = [];
    for (const p of this.deps.pending()) {
      if (p.startBy - 2 * params.leadMs > now || p.startBy < now) continue;
      const waiting = index.waiting.get(p.jobId);
      if (!waiting || [...waiting].every((i) => inFlight.has(chunkId(p.jobId, i)))) continue;
      const job = peek.job(p.jobId);
      const spec = job?.context.spec;
      if (!job || !spec || !['queued', 'running'].includes(stateName(job))) continue;
      const standing = this.deps.standingExclusions?.(spec.user) ?? [];
      out.push({
        jobId: p.jobId,
        user: spec.user,
        priority: job.context.priority,
        request: { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus },
        labels: spec.labels,
        excludeNodes: [...spec.excludeNodes, ...standing],
        startBy: p.startBy,
      });
    }
    return out;
  }

  /** Chunks asked to stop for a pending promise whose attempt still holds its node. */
  private stopping(): Set<string> {
    const out = new Set<string>();
    for (const p of this.deps.pending()) {
      const victims = this.deps.runtime.peek(promiseBehaviour, p.jobId)?.state.context.victims;
      for (const v of victims ?? [])
        if (this.deps.index.live.get(v.chunk)?.worker === v.worker) out.add(v.chunk);
    }
    return out;
  }

  /** Running attempts as preemption sees them (promised jobs protected). */
  private running(needs: readonly PromiseNeed[]): RunningWork[] {
    const { peek, index, runtime } = this.deps;
    const counts = new Map<string, number>();
    const out: RunningWork[] = [];
    const nodes = new Set<string>();
    for (const n of needs)
      for (const id of index.nodes) if (!n.excludeNodes.includes(id)) nodes.add(id);
    for (const node of nodes)
      for (const [chunk, live] of index.liveEntriesOn(node)) {
        if (live.state !== 'running' || !live.worker) continue;
        const job = peek.job(live.jobId);
        const spec = job?.context.spec;
        const c = peek.chunk(chunk)?.context;
        if (!job || !spec || !c) continue;
        if (!counts.has(live.jobId)) counts.set(live.jobId, preemptionsOf(peek, live.jobId));
        const from = job.context.startedAt ?? 0;
        out.push({
          chunk,
          worker: live.worker,
          attempt: c.attempt,
          jobId: live.jobId,
          user: spec.user,
          priority: job.context.priority,
          node,
          request: live.request,
          until: spec.timeoutS !== undefined ? from + spec.timeoutS * 1000 : Infinity,
          preemptions: counts.get(live.jobId) ?? 0,
          protected: runtime.peek(promiseBehaviour, live.jobId) !== undefined,
        });
      }
    return out;
  }

  /** The decision into the log, then the stop path for each victim. */
  private async act(d: Preemption, now: number): Promise<void> {
    const { deps } = this;
    const first = d.victims[0]!;
    const victims = d.victims.map((v) => ({
      jobId: v.jobId,
      chunk: v.chunk,
      worker: v.worker,
      attempt: v.attempt,
      user: v.user,
    }));
    const meta = (id: string) => ({ id, at: now, by: deps.by });
    try {
      const out = await deps.runtime.execute(promiseBehaviour, d.promise, {
        type: 'PreemptForPromise',
        ...meta(`preempt:${d.promise}:${first.worker}`),
        data: { node: d.node, victims, why: d.why.slice(0, 1000) },
      });
      if (!out.ok) {
        deps.logger.warn({ promise: d.promise, why: out.rejection.message }, 'preemption refused');
        return;
      }
      deps.logger.info({ promise: d.promise, victims: victims.map((v) => v.worker) }, 'preempting');
      await Promise.all(
        d.victims.map(async (v) => {
          await deps.exec({
            entity: 'worker',
            id: v.worker,
            command: {
              type: 'RequestKill',
              ...meta(`preempt-kill:${v.worker}`),
              data: { reason: 'terminate', signal: 'SIGTERM' },
            },
          });
          await deps.exec({ entity: 'kill', node: v.node, worker: v.worker, reason: 'terminate' });
        }),
      );
    } catch (err) {
      deps.logger.error({ err, promise: d.promise }, 'preemption failed');
    }
  }
}

/** Attempts of a job's chunks that ended `Preempted` (the guard's "at most M times"). */
function preemptionsOf(peek: Peek, jobId: string): number {
  const total = peek.job(jobId)?.context.chunks.total ?? 0;
  let n = 0;
  for (let i = 0; i < total; i++)
    for (const a of peek.chunk(chunkId(jobId, i))?.context.attempts ?? [])
      if (a.cause === 'Preempted') n++;
  return n;
}
