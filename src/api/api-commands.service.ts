import { jobBehaviour, nodeBehaviour, stateName, type NodeCommand } from '../actors/index.js';
import {
  DecodeError,
  ErrorCodes,
  SchedulerError,
  jobIdOfIntake,
  toJobSpec,
} from '../events/index.js';
import {
  actorOf,
  archivedWords,
  loadOwnJob,
  metaOf,
  requireAdmin,
  modelOf,
  type ApiContext,
  type ApiRequest,
  type Handler,
} from './api-context.js';
import { defaultFairShareConfig } from '../policy/index.js';
import { configOfState } from '../projections/index.js';
import { cancelPlan, clearPlan, closedClearPlan } from './plans.js';
import { delayedBy } from './priority-delays.js';
import { RequestSchemas, parseRequest } from './protocol.js';
import { refuseBadReservation } from './api-reservations.service.js';
import { submitPromised, splitStartBy } from './api-promises.service.js';
import { refuseUnknownReferences } from './references.js';
import { memDefaultOf } from './api-mem-defaults.service.js';
import { resolveMemory } from './mem-auto.js';
import { TERMINAL_STATES, publicState } from './views.js';

/**
 * `drover.api.submit`: validate (every offending field named), then publish to the durable
 * intake with `Nats-Msg-Id` (the request's own, or a fresh one) and answer the job id the
 * scheduler will give it. A rejected submission writes nothing. On a user's surface the body's
 * `user` must be the caller, and a `parent` must be the caller's own job.
 */
export const submit: Handler = async (ctx, req) => {
  const split = splitStartBy(req.body);
  const { startBy } = split;
  const { body, sizing } = resolveMemory(
    split.body,
    ctx.live.usage,
    (name) => memDefaultOf(ctx.live.model, name),
    ctx.clock(),
  );
  let spec;
  try {
    spec = toJobSpec(body, 'drover.api.submit');
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new SchedulerError(ErrorCodes.BadInput, err.message, {
      cause: err,
      details: { issues: err.issues },
    });
  }
  const { user } = req.caller;
  if (user !== undefined && spec.user !== user) {
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `user: you submit as ${user}, not ${spec.user}`,
      {
        details: {
          issues: [{ path: 'user', message: `must be ${user}` }],
        },
      },
    );
  }
  if (user !== undefined && spec.parent !== undefined) {
    // A parent the read model let go of is read back: the check must not lapse with retention.
    const parent = (await ctx.jobModel(spec.parent))?.jobs.get(spec.parent)?.context.spec;
    if (parent && parent.user !== user) {
      throw new SchedulerError(
        ErrorCodes.Forbidden,
        `parent: job ${spec.parent} belongs to ${parent.user}`,
      );
    }
  }
  // Only a submission that names other jobs awaits before its publish: without references the
  // publish leaves in the turn the request arrived in, ahead of work queued behind it.
  if (spec.parent !== undefined || spec.after.length > 0) await refuseUnknownReferences(ctx, spec);
  refuseBadReservation(ctx, spec);
  const memSizing = sizing && { memSizing: sizing };
  if (startBy !== undefined)
    return { ...(await submitPromised(ctx, req, spec, startBy)), ...memSizing };
  const msgID = req.headers?.get('Nats-Msg-Id') || `api-${ctx.newId()}`;
  const ack = await ctx.intake.publish(spec, msgID);
  return {
    jobId: jobIdOfIntake(ack.seq),
    ...(ack.duplicate && { duplicate: true }),
    ...memSizing,
  };
};

/** `drover.api.cancel.plan`: the whole cascade a cancel would touch, without acting. */
export const cancelPlanOf: Handler = async (ctx, req) => {
  const { id } = parseRequest('cancel plan request', RequestSchemas['cancel.plan'], req.body);
  const { lastSeq } = await loadOwnJob(ctx, req.caller, id);
  await ctx.live.reach(lastSeq);
  return { plan: cancelPlan(await modelOf(ctx, id), id) };
};

/**
 * `drover.api.cancel`: append `job.cancel_requested` through the job's machine (the scheduler
 * carries it to every descendant, chunk and process) and answer the cascade. With `wait`, answer
 * only once the job reads `cancelled`: every process confirmed stopped (TIMEOUT otherwise).
 */
export const cancel: Handler = async (ctx, req) => {
  const r = parseRequest('cancel request', RequestSchemas.cancel, req.body);
  const { job, lastSeq, archived } = await loadOwnJob(ctx, req.caller, r.id);
  await ctx.live.reach(lastSeq);
  const plan = cancelPlan(await modelOf(ctx, r.id), r.id);
  const state = stateName(job);
  // A compacted job is terminal (only finished trees move); closed either way: never appended to.
  if (TERMINAL_STATES.has(state) || archived) {
    throw new SchedulerError(ErrorCodes.Refused, `job ${r.id} is ${state}: nothing to cancel`, {
      details: { plan },
    });
  }
  if (state !== 'cancelling') {
    const by = actorOf(req.caller, r.by);
    const reason = r.reason ?? `cancelled by ${by.kind} ${by.id}`;
    const out = await ctx.runtime.execute(jobBehaviour, r.id, {
      type: 'RequestCancel',
      ...metaOf(ctx, req, by, 'cancel'),
      data: { reason },
    });
    if (!out.ok)
      throw new SchedulerError(ErrorCodes.Refused, out.rejection.message, { details: { plan } });
  }
  if (!r.wait) return { plan, state: 'cancelling' };
  const waitMs = r.waitMs ?? 60_000;
  const done = await ctx.live.until((m) => {
    const j = m.jobs.get(r.id);
    return j !== undefined && TERMINAL_STATES.has(stateName(j));
  }, waitMs);
  const now = ctx.live.model.jobs.get(r.id);
  const final = now ? publicState(now) : undefined;
  if (!done) {
    throw new SchedulerError(ErrorCodes.Timeout, `job ${r.id} still ${final} after ${waitMs} ms`, {
      details: { plan },
    });
  }
  return { plan, state: final };
};

/** `drover.api.clear.plan`: what a clear would clear, and what blocks it now. */
export const clearPlanOf: Handler = async (ctx, req) => {
  const { id } = parseRequest('clear plan request', RequestSchemas['clear.plan'], req.body);
  return { plan: await clearPlanNow(ctx, req, id) };
};

/** The clear plan of job `id` as the log stands; a compacted job's names its closed history. */
async function clearPlanNow(ctx: ApiContext, req: ApiRequest, id: string) {
  const { lastSeq, archived } = await loadOwnJob(ctx, req.caller, id);
  await ctx.live.reach(lastSeq);
  const plan = clearPlan(await modelOf(ctx, id), id);
  return archived ? closedClearPlan(plan, id, archivedWords(id)) : plan;
}

/**
 * `drover.api.clear`: REFUSED (naming every blocker) while any descendant is not terminal or
 * any process of it is not confirmed stopped; otherwise `job.results_cleared` through the job's
 * machine (which checks the same rule), and the scheduler clears each chunk.
 */
export const clear: Handler = async (ctx, req) => {
  const r = parseRequest('clear request', RequestSchemas.clear, req.body);
  const plan = await clearPlanNow(ctx, req, r.id);
  if (!plan) throw new SchedulerError(ErrorCodes.NotFound, `no job ${r.id}`);
  if (plan.blockers.length > 0) {
    const words = plan.blockers.map((b) => b.why).join('; ');
    throw new SchedulerError(ErrorCodes.Refused, `clear ${r.id} refused: ${words}`, {
      details: { plan },
    });
  }
  const out = await ctx.runtime.execute(jobBehaviour, r.id, {
    type: 'ClearResults',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'clear'),
  });
  if (!out.ok)
    throw new SchedulerError(ErrorCodes.Refused, out.rejection.message, { details: { plan } });
  await ctx.live.reach(out.lastSeq);
  return { plan };
};

/**
 * `drover.api.priority` (admins only): `job.priority_changed` with who and why, and the waiting
 * jobs it delays (`delayedBy`, from the queue as the read model stands once it holds the job).
 */
export const priority: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'a priority override');
  const r = parseRequest('priority request', RequestSchemas.priority, req.body);
  const { job, lastSeq, archived } = await loadOwnJob(ctx, req.caller, r.id);
  if (archived) {
    const why = `priority of ${r.id} refused: it is ${stateName(job)}; ${archivedWords(r.id)}`;
    throw new SchedulerError(ErrorCodes.Refused, why);
  }
  await ctx.live.reach(lastSeq);
  const change = { jobId: r.id, priority: r.priority, global: r.global ?? false };
  const config = configOfState(ctx.live.fairshare, defaultFairShareConfig).config;
  const delayed = delayedBy(ctx.live.fairshare, change, ctx.clock(), config);
  const out = await ctx.runtime.execute(jobBehaviour, r.id, {
    type: 'ChangePriority',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'priority'),
    data: { priority: r.priority, reason: r.reason, global: change.global, delayed },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  return { id: r.id, jobId: r.id, priority: r.priority, delayed };
};

const NODE_COMMANDS = {
  'node.drain': 'RequestDrain',
  'node.undrain': 'Undrain',
  'node.cordon': 'Cordon',
  'node.uncordon': 'Uncordon',
} as const;

/** `drover.api.node.<drain|undrain|cordon|uncordon>` (admins only), through the node machine. */
export function nodeOp(op: keyof typeof NODE_COMMANDS): Handler {
  return async (ctx: ApiContext, req: ApiRequest) => {
    requireAdmin(req.caller, `node ${op.slice(5)}`);
    const r = parseRequest('node request', RequestSchemas.node, req.body);
    const loaded = await ctx.runtime.load(nodeBehaviour, r.node);
    if (stateName(loaded.state) === 'none')
      throw new SchedulerError(ErrorCodes.NotFound, `no node ${r.node}`);
    const by = actorOf(req.caller, r.by);
    const type = NODE_COMMANDS[op];
    const reason = r.reason ?? `${op.slice(5)} by ${by.id}`;
    const meta = metaOf(ctx, req, by, op);
    const command = (
      type === 'RequestDrain' || type === 'Cordon'
        ? { type, ...meta, data: { reason } }
        : { type, ...meta }
    ) as NodeCommand;
    const out = await ctx.runtime.execute(nodeBehaviour, r.node, command);
    if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
    return { node: r.node, state: stateName(out.state) };
  };
}
