import { z } from 'zod';
import { policyBehaviour, stateName } from '../actors/index.js';
import { ErrorCodes, POLICY_IDS, SchedulerError } from '../events/index.js';
import { actorOf, metaOf, requireAdmin, type Handler } from './api-context.js';
import type { MemDefault } from './mem-auto.js';
import { parseRequest } from './protocol.js';
import type { ReadModel } from './read-model.js';

const Name = z.string().min(1).max(200);
const MemMb = z
  .number()
  .int()
  .positive()
  .max(64 * 1024 * 1024);
const Reason = z.string().max(1000).optional();
const By = z.string().min(1).max(128).optional();

/** Request bodies of the memory-default operations (strict: an unknown field is named). */
export const MemDefaultRequestSchemas = {
  'memdefault.set': z.strictObject({
    name: Name,
    memMb: z.union([z.literal('auto'), MemMb]),
    fallbackMb: MemMb.optional(),
    reason: Reason,
    by: By,
  }),
  'memdefault.clear': z.strictObject({ name: Name, reason: Reason, by: By }),
  'memdefault.list': z.strictObject({}),
} as const;

/** One row of `drover mem-default list`. */
export interface MemDefaultRow {
  name: string;
  memMb: number | 'auto';
  fallbackMb?: number;
}

/** Job name `name`'s memory default in the read model (undefined: none). Pure. */
export function memDefaultOf(model: ReadModel, name: string): MemDefault | undefined {
  const defaults = model.policies.get(POLICY_IDS.memory)?.context.memDefaults ?? {};
  return Object.hasOwn(defaults, name) ? defaults[name] : undefined;
}

const reasonOf = (r: { reason?: string | undefined }) =>
  r.reason === undefined ? {} : { reason: r.reason };

/**
 * `drover.api.memdefault.set` (admins): a job name's memory default, the next version of the
 * `memory` policy. `fallbackMb` only goes with `auto` (a size default needs none).
 */
export const memDefaultSet: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'setting a memory default');
  const r = parseRequest(
    'mem-default set request',
    MemDefaultRequestSchemas['memdefault.set'],
    req.body,
  );
  if (r.fallbackMb !== undefined && r.memMb !== 'auto')
    throw new SchedulerError(ErrorCodes.BadInput, 'fallbackMb: only with memMb "auto"', {
      details: { issues: [{ path: 'fallbackMb', message: 'only with memMb "auto"' }] },
    });
  const fb = r.fallbackMb === undefined ? {} : { fallbackMb: r.fallbackMb };
  const out = await ctx.runtime.execute(policyBehaviour, POLICY_IDS.memory, {
    type: 'SetMemDefault',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'memdefault-set'),
    data: { name: r.name, memMb: r.memMb, ...fb, ...reasonOf(r) },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  const changed = out.events.length > 0;
  return { name: r.name, memMb: r.memMb, ...fb, version: out.state.context.version, changed };
};

/** `drover.api.memdefault.clear` (admins): NOT_FOUND when the name has no default. */
export const memDefaultClear: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'clearing a memory default');
  const r = parseRequest(
    'mem-default clear request',
    MemDefaultRequestSchemas['memdefault.clear'],
    req.body,
  );
  const loaded = await ctx.runtime.load(policyBehaviour, POLICY_IDS.memory);
  if (!Object.hasOwn(loaded.state.context.memDefaults ?? {}, r.name))
    throw new SchedulerError(ErrorCodes.NotFound, `job name ${r.name} has no memory default`);
  const out = await ctx.runtime.execute(policyBehaviour, POLICY_IDS.memory, {
    type: 'ClearMemDefault',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'memdefault-clear'),
    data: { name: r.name, ...reasonOf(r) },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { name: r.name, version: out.state.context.version, changed: out.events.length > 0 };
};

/** `drover.api.memdefault.list`: every name's memory default, by name (open to all). */
export const memDefaultList: Handler = async (ctx, req) => {
  parseRequest('mem-default list request', MemDefaultRequestSchemas['memdefault.list'], req.body);
  const policy = ctx.live.model.policies.get(POLICY_IDS.memory);
  const defaults = policy && stateName(policy) !== 'none' ? policy.context.memDefaults : {};
  const rows: MemDefaultRow[] = Object.entries(defaults ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, d]) => ({ name, ...d }));
  return { defaults: rows, version: policy?.context.version ?? 0 };
};
