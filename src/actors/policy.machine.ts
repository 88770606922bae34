import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { PolicyEvent, QuotaLimits } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/**
 * Context of a policy entity: its version (the number of changes so far) and what they set.
 * One machine serves every policy domain (`fairshare`, `quotas`): each entity only ever gets its
 * own domain's events (the API routes them), so the other fields stay empty. Plain objects keyed
 * by user, built with computed keys, so a user called `__proto__` is data, not a prototype.
 */
export interface PolicyContext {
  readonly version: number;
  /** Fair-share weight per user (absent: 1). */
  readonly weights: Readonly<Record<string, number>>;
  /** Half-life (s) and λ once configured (absent: the POLICY defaults). */
  readonly halfLifeS?: number;
  readonly lambda?: number;
  /** Quota limits per user (absent: no quota). */
  readonly quotas: Readonly<Record<string, QuotaLimits>>;
  /** Standing exclusions: nodes per user that never get the user's jobs (sorted). */
  readonly exclusions: Readonly<Record<string, readonly string[]>>;
  /** Memory default per job name (`drover mem-default`; absent: the submit default). */
  readonly memDefaults: Readonly<Record<string, MemDefaultEntry>>;
}

/** A job name's memory default: a size in MB or `auto`, with auto's fallback for a new name. */
export interface MemDefaultEntry {
  readonly memMb: number | 'auto';
  readonly fallbackMb?: number;
}

type Guard = (args: { context: PolicyContext; event: PolicyEvent }) => boolean;

/** Named guards of the policy machine. Pure. */
const policyGuards = {
  isNextVersion: ({ context, event }) => event.data.version === context.version + 1,
} satisfies Record<string, Guard>;

/** Words for every guard of the policy machine. */
export const policyGuardDocs = {
  isNextVersion: 'data.version is the version so far + 1 (no gaps, no rewrites)',
} as const satisfies Record<keyof typeof policyGuards, string> & GuardDocs;

function without<T>(rec: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).filter(([k]) => k !== key));
}

const policySetup = setup({
  types: { context: {} as PolicyContext, events: {} as PolicyEvent },
  guards: policyGuards,
  actions: {
    applyChange: assign(({ context, event }): PolicyContext => {
      const version = event.data.version;
      switch (event.type) {
        case 'policy.weight_set':
          return {
            ...context,
            version,
            weights: { ...context.weights, [event.data.user]: event.data.weight },
          };
        case 'policy.fairshare_configured':
          return {
            ...context,
            version,
            halfLifeS: event.data.halfLifeS,
            lambda: event.data.lambda,
          };
        case 'policy.quota_set':
          return {
            ...context,
            version,
            quotas: { ...context.quotas, [event.data.user]: event.data.limits },
          };
        case 'policy.quota_cleared':
          return { ...context, version, quotas: without(context.quotas, event.data.user) };
        case 'policy.exclusion_added':
        case 'policy.exclusion_removed': {
          const { user, node } = event.data;
          const before = Object.hasOwn(context.exclusions, user) ? context.exclusions[user]! : [];
          const rest = before.filter((n) => n !== node);
          const nodes = event.type === 'policy.exclusion_added' ? [...rest, node].sort() : rest;
          const exclusions = nodes.length
            ? { ...context.exclusions, [user]: nodes }
            : without(context.exclusions, user);
          return { ...context, version, exclusions };
        }
        case 'policy.mem_default_set': {
          const { name, memMb, fallbackMb } = event.data;
          const entry = fallbackMb === undefined ? { memMb } : { memMb, fallbackMb };
          return { ...context, version, memDefaults: { ...context.memDefaults, [name]: entry } };
        }
        case 'policy.mem_default_cleared':
          return {
            ...context,
            version,
            memDefaults: without(context.memDefaults ?? {}, event.data.name),
          };
        default: {
          const _exhaustive: never = event;
          return _exhaustive;
        }
      }
    }),
  },
});

const change = { target: 'active', guard: 'isNextVersion', actions: 'applyChange' } as const;
const on = {
  'policy.weight_set': change,
  'policy.fairshare_configured': change,
  'policy.quota_set': change,
  'policy.quota_cleared': change,
  'policy.exclusion_added': change,
  'policy.exclusion_removed': change,
  'policy.mem_default_set': change,
  'policy.mem_default_cleared': change,
} as const;

/**
 * The policy machine. Pure. `none` until the first change; every change is the next version.
 * A change that changes nothing (the same weight again) is decided away before it reaches the
 * machine (`decidePolicy`), so each version is a real change.
 */
export const policyMachine = policySetup.createMachine({
  id: 'policy',
  initial: 'none',
  context: { version: 0, weights: {}, quotas: {}, exclusions: {}, memDefaults: {} },
  states: { none: { on }, active: { on } },
});

/** A policy entity as folded from its events. */
export type PolicySnapshot = SnapshotFrom<typeof policyMachine>;

/** The fold of policy events (pure; throws `InvalidTransitionError` on a rejected event). */
export const policyFold = createFold(policyMachine, policyGuardDocs);
