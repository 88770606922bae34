import { z } from 'zod';
import { policyBehaviour, stateName, type PolicyCommand } from '../actors/index.js';
import {
  EntityIdSchema,
  ErrorCodes,
  POLICY_IDS,
  QuotaLimitsSchema,
  SchedulerError,
} from '../events/index.js';
import { defaultFairShareConfig, fairShareConfigOf } from '../policy/index.js';
import { actorOf, metaOf, requireAdmin, type ApiContext, type Handler } from './api-context.js';
import { parseRequest } from './protocol.js';
import type { ReadModel } from './read-model.js';

const User = z.string().min(1).max(64);
const Reason = z.string().max(1000).optional();
const By = z.string().min(1).max(128).optional();

/** Request bodies of the policy operations (strict: an unknown field is named). */
export const PolicyRequestSchemas = {
  'fairshare.weight': z.strictObject({
    user: User,
    weight: z.number().positive().max(1_000_000),
    reason: Reason,
    by: By,
  }),
  'fairshare.config': z.strictObject({
    halfLifeS: z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 24 * 3600)
      .optional(),
    lambda: z.number().min(0).max(1000).optional(),
    reason: Reason,
    by: By,
  }),
  'quota.set': z.strictObject({ user: User, limits: QuotaLimitsSchema, reason: Reason, by: By }),
  'quota.clear': z.strictObject({ user: User, reason: Reason, by: By }),
  'quota.list': z.strictObject({}),
  exclusion: z.strictObject({ user: User, node: EntityIdSchema, reason: Reason, by: By }),
  'exclusions.list': z.strictObject({}),
} as const;

/** Run a policy command on one policy entity (admins only); the state after and whether it changed. */
async function change(ctx: ApiContext, id: string, command: PolicyCommand) {
  const out = await ctx.runtime.execute(policyBehaviour, id, command);
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { context: out.state.context, changed: out.events.length > 0 };
}

const reasonOf = (r: { reason?: string | undefined }) =>
  r.reason === undefined ? {} : { reason: r.reason };

/** `drover.api.fairshare.weight` (admins): a user's fair-share weight, the next policy version. */
export const fairshareWeight: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'setting a fair-share weight');
  const r = parseRequest(
    'fairshare weight request',
    PolicyRequestSchemas['fairshare.weight'],
    req.body,
  );
  const { context, changed } = await change(ctx, POLICY_IDS.fairshare, {
    type: 'SetWeight',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'fairshare-weight'),
    data: { user: r.user, weight: r.weight, ...reasonOf(r) },
  });
  return { user: r.user, weight: r.weight, version: context.version, changed };
};

/**
 * `drover.api.fairshare.config` (admins): half-life and λ. A field left out keeps its value in
 * force; with neither, nothing changes and the answer is the config in force and its version.
 */
export const fairshareConfig: Handler = async (ctx, req) => {
  const r = parseRequest(
    'fairshare config request',
    PolicyRequestSchemas['fairshare.config'],
    req.body,
  );
  const loaded = await ctx.runtime.load(policyBehaviour, POLICY_IDS.fairshare);
  const inForce = fairShareConfigOf(loaded.state.context, defaultFairShareConfig);
  const view = (version: number, halfLifeS: number, lambda: number, changed: boolean) => ({
    version,
    halfLifeS,
    lambda,
    weights: { ...loaded.state.context.weights },
    changed,
  });
  if (r.halfLifeS === undefined && r.lambda === undefined)
    return view(inForce.version, inForce.config.halfLifeS, inForce.config.lambda, false);
  requireAdmin(req.caller, 'configuring fair share');
  const halfLifeS = r.halfLifeS ?? inForce.config.halfLifeS;
  const lambda = r.lambda ?? inForce.config.lambda;
  const { context, changed } = await change(ctx, POLICY_IDS.fairshare, {
    type: 'ConfigureFairshare',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'fairshare-config'),
    data: { halfLifeS, lambda, ...reasonOf(r) },
  });
  return view(context.version, halfLifeS, lambda, changed);
};

/** `drover.api.quota.set` (admins): a user's limits, replacing any before (at least one limit). */
export const quotaSet: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'setting a quota');
  const r = parseRequest('quota set request', PolicyRequestSchemas['quota.set'], req.body);
  if (Object.values(r.limits).every((v) => v === undefined))
    throw new SchedulerError(
      ErrorCodes.BadInput,
      'limits: give at least one of cpus, memMb, gpus, launchesPerMin',
    );
  const { context, changed } = await change(ctx, POLICY_IDS.quotas, {
    type: 'SetQuota',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'quota-set'),
    data: { user: r.user, limits: r.limits, ...reasonOf(r) },
  });
  return { user: r.user, ...r.limits, version: context.version, changed };
};

/** `drover.api.quota.clear` (admins): NOT_FOUND when the user has no quota. */
export const quotaClear: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'clearing a quota');
  const r = parseRequest('quota clear request', PolicyRequestSchemas['quota.clear'], req.body);
  const loaded = await ctx.runtime.load(policyBehaviour, POLICY_IDS.quotas);
  if (!Object.hasOwn(loaded.state.context.quotas, r.user))
    throw new SchedulerError(ErrorCodes.NotFound, `user ${r.user} has no quota`);
  const { context, changed } = await change(ctx, POLICY_IDS.quotas, {
    type: 'ClearQuota',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'quota-clear'),
    data: { user: r.user, ...reasonOf(r) },
  });
  return { user: r.user, version: context.version, changed };
};

/** Running resources per user: every live chunk's request, by its job's user. Pure. */
export function usedByUser(
  model: ReadModel,
): Map<string, { cpus: number; memMb: number; gpus: number }> {
  const used = new Map<string, { cpus: number; memMb: number; gpus: number }>();
  for (const chunkId of model.liveChunks.keys()) {
    const c = model.chunks.get(chunkId)?.context;
    const user = c && model.jobs.get(c.jobId)?.context.spec?.user;
    if (!c?.request || user === undefined) continue;
    const u = used.get(user) ?? { cpus: 0, memMb: 0, gpus: 0 };
    u.cpus += c.request.cpus;
    u.memMb += c.request.memMb;
    u.gpus += c.request.gpus;
    used.set(user, u);
  }
  return used;
}

/** `drover.api.quota.list`: every quota with the user's running use (CONTRACT shape), by user. */
export const quotaList: Handler = async (ctx, req) => {
  parseRequest('quota list request', PolicyRequestSchemas['quota.list'], req.body);
  const policy = ctx.live.model.policies.get(POLICY_IDS.quotas);
  const quotas = policy && stateName(policy) !== 'none' ? policy.context.quotas : {};
  const used = usedByUser(ctx.live.model);
  const rows = Object.entries(quotas)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, limits]) => ({
      user,
      ...limits,
      used: used.get(user) ?? { cpus: 0, memMb: 0, gpus: 0 },
    }));
  return { quotas: rows, version: policy?.context.version ?? 0 };
};

/** `drover.api.exclusions.add|remove` (admins): a user's standing exclusion of a node. */
export function exclusionOp(op: 'add' | 'remove'): Handler {
  return async (ctx, req) => {
    requireAdmin(req.caller, `exclusions ${op}`);
    const r = parseRequest(`exclusions ${op} request`, PolicyRequestSchemas.exclusion, req.body);
    const { context, changed } = await change(ctx, POLICY_IDS.exclusions, {
      type: op === 'add' ? 'AddExclusion' : 'RemoveExclusion',
      ...metaOf(ctx, req, actorOf(req.caller, r.by), `exclusion-${op}`),
      data: { user: r.user, node: r.node, ...reasonOf(r) },
    });
    return { user: r.user, node: r.node, version: context.version, changed };
  };
}

/** `drover.api.exclusions.list`: `[{ user, node }]`, by user then node. */
export const exclusionsList: Handler = async (ctx, req) => {
  parseRequest('exclusions list request', PolicyRequestSchemas['exclusions.list'], req.body);
  const policy = ctx.live.model.policies.get(POLICY_IDS.exclusions);
  const rows = Object.entries(policy?.context.exclusions ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([user, nodes]) => nodes.map((node) => ({ user, node })));
  return { exclusions: rows, version: policy?.context.version ?? 0 };
};
