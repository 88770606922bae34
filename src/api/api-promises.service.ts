import { promiseBehaviour, stateName } from '../actors/index.js';
import {
  ErrorCodes,
  POLICY_IDS,
  SchedulerError,
  chunkId as chunkIdOf,
  jobIdOfIntake,
  type JobSpec,
  type ValidJobSpec,
} from '../events/index.js';
import {
  DEFAULT_PREEMPTION,
  admitPromise,
  heldNodes,
  preemptibleHolds,
  type Admission,
  type FarmModel,
  type HeldReservation,
  type Hold,
  type NodeState,
} from '../policy/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest, type Handler } from './api-context.js';
import { RequestSchemas, parseRequest } from './protocol.js';
import type { PromiseEntry, ReadModel } from './read-model.js';
import { nodeList } from './views.js';

/** A promise as `drover promises` shows it (CONTRACT "Capacity"). */
export interface PromiseRow {
  jobId: string;
  startBy: string;
  startedAt?: string;
  state: 'pending' | 'kept' | 'broken';
  proof: { acceptedSeq: number; startedSeq?: number; preempted: string[] };
}

const DURATION = /^\+(\d+)(s|m|h|d)?$/;

/**
 * The submit body's `startBy` as epoch ms: an ISO 8601 time or `+DURATION` from `now` (`+90s`,
 * `+30m`, `+2h`, `+1d`). BAD_INPUT naming the field otherwise. Pure.
 */
export function parseStartBy(value: unknown, now: number): number {
  const bad = () =>
    new SchedulerError(
      ErrorCodes.BadInput,
      `startBy: ${String(value)} is neither an ISO 8601 time (2026-12-05T08:00:00Z) nor +DURATION (+30m)`,
      { details: { issues: [{ path: 'startBy', message: 'expected ISO time or +DURATION' }] } },
    );
  if (typeof value !== 'string' || value.length > 64) throw bad();
  const d = DURATION.exec(value.trim());
  if (d)
    return now + Number(d[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(d[2] ?? 's') as 's'] * 1000;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) throw bad();
  return ms;
}

/** A submit body without its `startBy` (which is not part of the job's spec), and the field. */
export function splitStartBy(body: unknown): { body: unknown; startBy?: unknown } {
  if (typeof body !== 'object' || body === null || !('startBy' in body)) return { body };
  const { startBy, ...rest } = body as Record<string, unknown>;
  return { body: rest, startBy };
}

function policyNodes(model: ReadModel): NodeState[] {
  return nodeList(model).map((n) => ({
    id: n.id,
    state: n.state as NodeState['state'],
    capacity: { cpus: n.cpus, memMb: n.memMb, gpus: n.gpus },
    used: n.used,
    labels: n.labels,
  }));
}

/**
 * The farm as admission models it, from the read model at `now`: running chunks hold their node
 * until their start + their job's time limit (none: forever), pending promises hold their
 * booking for their time limit, and the reservations with the nodes they hold. Queued jobs
 * without a promise are left out: promised jobs go first in every round. Pure.
 */
export function farmModelOf(model: ReadModel, now: number): FarmModel {
  const nodes = policyNodes(model);
  const holds: Hold[] = [];
  const preempted = new Map<string, number>();
  for (const [chunkId, node] of model.liveChunks) {
    const chunk = model.chunks.get(chunkId)?.context;
    if (!chunk?.request) continue;
    const jobId = chunkId.slice(0, chunkId.lastIndexOf(':'));
    const job = model.jobs.get(jobId)?.context;
    const from = job?.startedAt ?? now;
    const t = job?.spec?.timeoutS;
    if (job?.spec && !preempted.has(jobId)) preempted.set(jobId, preemptionsOf(model, jobId));
    holds.push({
      node,
      request: chunk.request,
      from,
      until: t !== undefined ? from + t * 1000 : Infinity,
      // A promised job is never a victim: admission does not count it as stoppable.
      ...(job?.spec &&
        !model.promises.has(jobId) && {
          owner: {
            chunk: chunkId,
            jobId,
            user: job.spec.user,
            priority: job.priority,
            preemptions: preempted.get(jobId) ?? 0,
          },
        }),
    });
  }
  for (const p of model.promises.values()) {
    const a = p.snapshot.context.accepted;
    if (!a || stateName(p.snapshot) !== 'pending') continue;
    const from = Math.max(now, a.booking.startAt);
    holds.push({ node: a.booking.node, request: a.request, from, until: from + a.timeoutS * 1000 });
  }
  const reservations: HeldReservation[] = [];
  for (const s of model.reservations.values()) {
    const spec = s.context.spec;
    if (!spec || stateName(s) !== 'active') continue;
    reservations.push({ ...spec, held: heldNodes(spec, nodes) });
  }
  return { now, nodes, holds, reservations };
}

/** Attempts of a job's chunks that ended `Preempted` (the guard's "preempted at most M times"). */
function preemptionsOf(model: ReadModel, jobId: string): number {
  const total = model.jobs.get(jobId)?.context.chunks.total ?? 0;
  let n = 0;
  for (let i = 0; i < total; i++)
    for (const a of model.chunks.get(chunkIdOf(jobId, i))?.context.attempts ?? [])
      if (a.cause === 'Preempted') n++;
  return n;
}

/**
 * Admission of a start-by for a valid spec at `now`: REFUSED (exit 4) with the reason. Pure.
 * Running work the preemption guards would let the scheduler stop for this job counts as ending
 * once stopped (a kept promise may need preemption).
 */
export function admit(model: ReadModel, spec: JobSpec, startBy: number, now: number): Admission {
  if (spec.timeoutS === undefined)
    throw new SchedulerError(
      ErrorCodes.Refused,
      'timeoutS: a job with a start-by needs a time limit (--timeout); without one it would hold its node forever and no promise could be checked',
    );
  const a = admitPromise(
    {
      user: spec.user,
      request: { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus },
      labels: spec.labels,
      timeoutS: spec.timeoutS,
      startBy,
    },
    withPreemption(model, spec, farmModelOf(model, now)),
  );
  if (!a.accepted)
    throw new SchedulerError(ErrorCodes.Refused, `startBy: cannot be kept: ${a.reason}`);
  return a;
}

function withPreemption(model: ReadModel, spec: JobSpec, farm: FarmModel): FarmModel {
  const weights = model.policies.get(POLICY_IDS.fairshare)?.context.weights ?? {};
  const weight = (u: string) => (Object.hasOwn(weights, u) ? (weights[u] as number) : 1);
  const ask = {
    user: spec.user,
    priority: spec.priority,
    request: { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus },
  };
  const holds = preemptibleHolds(ask, farm.holds, farm.nodes, weight, DEFAULT_PREEMPTION);
  return { ...farm, holds };
}

const queues = new WeakMap<ApiContext, Promise<unknown>>();

/**
 * Run `f` after every earlier admission of this API has appended its promise and the read model
 * holds it: two concurrent submits never book the same capacity.
 */
export function serialAdmission<T>(ctx: ApiContext, f: () => Promise<T>): Promise<T> {
  const next = (queues.get(ctx) ?? Promise.resolve()).then(f, f);
  queues.set(
    ctx,
    next.catch(() => undefined),
  );
  return next;
}

/** Append `promise.accepted` for a job just published; answers the `promise` of the reply. */
export async function recordPromise(
  ctx: ApiContext,
  req: ApiRequest,
  jobId: string,
  spec: JobSpec,
  startBy: number,
  a: Extract<Admission, { accepted: true }>,
): Promise<{ startBy: string; accepted: true }> {
  const out = await ctx.runtime.execute(promiseBehaviour, jobId, {
    type: 'AcceptPromise',
    ...metaOf(ctx, req, actorOf(req.caller), 'promise-accept'),
    data: {
      jobId,
      user: spec.user,
      startBy,
      timeoutS: spec.timeoutS ?? 0,
      request: { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus },
      booking: { node: a.node, startAt: a.startAt },
    },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { startBy: new Date(startBy).toISOString(), accepted: true };
}

/** One promise as a row of `drover promises`. Pure. */
export function promiseRow(jobId: string, p: PromiseEntry): PromiseRow | undefined {
  const a = p.snapshot.context.accepted;
  if (!a) return undefined;
  const kept = p.snapshot.context.kept;
  const state = stateName(p.snapshot);
  return {
    jobId,
    startBy: new Date(a.startBy).toISOString(),
    ...(kept && { startedAt: new Date(kept.startedAt).toISOString() }),
    state: state === 'kept' ? 'kept' : state === 'broken' ? 'broken' : 'pending',
    proof: {
      acceptedSeq: p.acceptedSeq,
      ...(kept && { startedSeq: kept.startedSeq }),
      preempted: [...(p.snapshot.context.preempted ?? [])],
    },
  };
}

/** `drover.api.promises`: every promise (of `user`, if given), by acceptance. */
export const promisesList: Handler = async (ctx, req) => {
  const r = parseRequest('promises request', RequestSchemas.promises, req.body);
  const rows: PromiseRow[] = [];
  for (const [jobId, p] of ctx.live.model.promises) {
    if (r.user !== undefined && p.snapshot.context.accepted?.user !== r.user) continue;
    const row = promiseRow(jobId, p);
    if (row) rows.push(row);
  }
  rows.sort((a, b) => a.proof.acceptedSeq - b.proof.acceptedSeq);
  return { promises: rows };
};

/**
 * `submit` with a `startBy`: admission on the read model (REFUSED with the reason, nothing
 * written), then the job's submission to the intake and its `promise.accepted`, one admission
 * at a time. Answers `{ jobId, promise: { startBy, accepted } }`.
 */
export async function submitPromised(
  ctx: ApiContext,
  req: ApiRequest,
  spec: ValidJobSpec,
  startByField: unknown,
): Promise<{ jobId: string; promise: { startBy: string; accepted: true }; duplicate?: true }> {
  const startBy = parseStartBy(startByField, ctx.clock());
  return serialAdmission(ctx, async () => {
    const a = admit(ctx.live.model, spec, startBy, ctx.clock());
    if (!a.accepted) throw new SchedulerError(ErrorCodes.Refused, a.reason);
    const msgID = req.headers?.get('Nats-Msg-Id') || `api-${ctx.newId()}`;
    const ack = await ctx.intake.publish(spec, msgID);
    const jobId = jobIdOfIntake(ack.seq);
    if (ack.duplicate) {
      const p = ctx.live.model.promises.get(jobId)?.snapshot.context.accepted;
      if (p)
        return {
          jobId,
          promise: { startBy: new Date(p.startBy).toISOString(), accepted: true },
          duplicate: true,
        };
    }
    return { jobId, promise: await recordPromise(ctx, req, jobId, spec, startBy, a) };
  });
}
