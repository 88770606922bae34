import type { QuotaLimits } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { decideDrafts } from './decision.js';
import type { Command, Decision, Draft } from './decision.js';
import { stateName } from './evolve.js';
import { policyFold } from './policy.machine.js';
import type { PolicySnapshot } from './policy.machine.js';

type Why = { readonly reason?: string };

/** The data of each policy command (sent by the API on `drover fairshare`/`quota` changes). */
export interface PolicyCommandData {
  SetWeight: { readonly user: string; readonly weight: number } & Why;
  ConfigureFairshare: { readonly halfLifeS: number; readonly lambda: number } & Why;
  SetQuota: { readonly user: string; readonly limits: QuotaLimits } & Why;
  ClearQuota: { readonly user: string } & Why;
  AddExclusion: { readonly user: string; readonly node: string } & Why;
  RemoveExclusion: { readonly user: string; readonly node: string } & Why;
  SetMemDefault: {
    readonly name: string;
    readonly memMb: number | 'auto';
    readonly fallbackMb?: number;
  } & Why;
  ClearMemDefault: { readonly name: string } & Why;
}
export type PolicyCommandType = keyof PolicyCommandData;
export type PolicyCommandOf<T extends PolicyCommandType> = Command<T, PolicyCommandData[T]>;
/** Any policy command: what `decidePolicy` takes. */
export type PolicyCommand = {
  [T in PolicyCommandType]: PolicyCommandOf<T>;
}[PolicyCommandType];

const own = <T>(rec: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;

const LIMIT_KEYS = ['cpus', 'memMb', 'gpus', 'launchesPerMin'] as const;
const sameLimits = (a: QuotaLimits, b: QuotaLimits) => LIMIT_KEYS.every((k) => a[k] === b[k]);

/** The change a command asks for, or undefined when it would change nothing. Pure. */
function draftOf(
  s: PolicySnapshot,
  c: PolicyCommand,
): (Omit<Draft, 'data'> & { data: object }) | undefined {
  const ctx = s.context;
  const reason = c.data.reason === undefined ? {} : { reason: c.data.reason };
  const version = ctx.version + 1;
  switch (c.type) {
    case 'SetWeight': {
      const { user, weight } = c.data;
      if ((own(ctx.weights, user) ?? 1) === weight && own(ctx.weights, user) !== undefined)
        return undefined;
      return { type: 'policy.weight_set', data: { version, user, weight, ...reason } };
    }
    case 'ConfigureFairshare': {
      const { halfLifeS, lambda } = c.data;
      if (ctx.halfLifeS === halfLifeS && ctx.lambda === lambda) return undefined;
      return {
        type: 'policy.fairshare_configured',
        data: { version, halfLifeS, lambda, ...reason },
      };
    }
    case 'SetQuota': {
      const { user, limits } = c.data;
      const before = own(ctx.quotas, user);
      if (before && sameLimits(before, limits)) return undefined;
      return { type: 'policy.quota_set', data: { version, user, limits, ...reason } };
    }
    case 'ClearQuota': {
      if (own(ctx.quotas, c.data.user) === undefined) return undefined;
      return { type: 'policy.quota_cleared', data: { version, user: c.data.user, ...reason } };
    }
    case 'AddExclusion':
    case 'RemoveExclusion': {
      const { user, node } = c.data;
      const has = (own(ctx.exclusions, user) ?? []).includes(node);
      const adding = c.type === 'AddExclusion';
      if (has === adding) return undefined;
      const type = adding ? 'policy.exclusion_added' : 'policy.exclusion_removed';
      return { type, data: { version, user, node, ...reason } };
    }
    case 'SetMemDefault': {
      const { name, memMb, fallbackMb } = c.data;
      const before = own(ctx.memDefaults ?? {}, name);
      if (before && before.memMb === memMb && before.fallbackMb === fallbackMb) return undefined;
      const fb = fallbackMb === undefined ? {} : { fallbackMb };
      return { type: 'policy.mem_default_set', data: { version, name, memMb, ...fb, ...reason } };
    }
    case 'ClearMemDefault': {
      if (own(ctx.memDefaults ?? {}, c.data.name) === undefined) return undefined;
      return {
        type: 'policy.mem_default_cleared',
        data: { version, name: c.data.name, ...reason },
      };
    }
    default: {
      const _exhaustive: never = c;
      return _exhaustive;
    }
  }
}

/**
 * Decide a policy command. Pure. A command that would change nothing (the weight it already
 * has, a quota cleared that was never set) decides no event, so each version is a real change;
 * otherwise one event carrying the next version number, checked by the machine like any event.
 */
export function decidePolicy(state: PolicySnapshot, command: PolicyCommand): Decision {
  const draft = draftOf(state, command);
  if (!draft) return { ok: true, events: [] };
  return decideDrafts(policyFold, state, command, [draft as Draft], undefined);
}

/** A policy entity as the entity runtime sees it. Pure. */
export const policyBehaviour: EntityBehaviour<PolicySnapshot, PolicyCommand> = {
  entity: 'policy',
  initial: policyFold.initial,
  evolve: policyFold.evolve,
  decide: decidePolicy,
  stateOf: stateName,
};
