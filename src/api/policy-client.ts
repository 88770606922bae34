import type { ApiClient } from './client.js';
import type { QuotaLimits } from '../events/index.js';
import type { MemDefaultRow } from './api-mem-defaults.service.js';

/** A row of `drover quota list` (CONTRACT "Capacity"). */
export interface QuotaRow extends QuotaLimits {
  user: string;
  used: { cpus: number; memMb: number; gpus: number };
}

/** The fair-share parameters in force and their policy version. */
export interface FairshareConfigView {
  version: number;
  halfLifeS: number;
  lambda: number;
  weights: Record<string, number>;
  changed: boolean;
}

type Who = { reason?: string; by?: string };

/**
 * The policy operations of the API (fair-share weights and config, quotas), on an `ApiClient`'s
 * raw `call`: the same surface, codec and error family as every other operation.
 */
export function policyClient(api: ApiClient) {
  return {
    weight: (user: string, weight: number, o: Who = {}) =>
      api.call<{ user: string; weight: number; version: number; changed: boolean }>(
        'fairshare.weight',
        { user, weight, ...o },
      ),
    config: (o: { halfLifeS?: number; lambda?: number } & Who = {}) =>
      api.call<FairshareConfigView>('fairshare.config', o),
    quotaSet: (user: string, limits: QuotaLimits, o: Who = {}) =>
      api.call<QuotaLimits & { user: string; version: number; changed: boolean }>('quota.set', {
        user,
        limits,
        ...o,
      }),
    quotaClear: (user: string, o: Who = {}) =>
      api.call<{ user: string; version: number; changed: boolean }>('quota.clear', { user, ...o }),
    exclusion: (op: 'add' | 'remove', user: string, node: string, o: Who = {}) =>
      api.call<{ user: string; node: string; version: number; changed: boolean }>(
        `exclusions.${op}`,
        { user, node, ...o },
      ),
    exclusions: async () =>
      (await api.call<{ exclusions: { user: string; node: string }[] }>('exclusions.list', {}))
        .exclusions,
    memDefaultSet: (name: string, memMb: number | 'auto', o: Who & { fallbackMb?: number } = {}) =>
      api.call<{
        name: string;
        memMb: number | 'auto';
        fallbackMb?: number;
        version: number;
        changed: boolean;
      }>('memdefault.set', { name, memMb, ...o }),
    memDefaultClear: (name: string, o: Who = {}) =>
      api.call<{ name: string; version: number; changed: boolean }>('memdefault.clear', {
        name,
        ...o,
      }),
    memDefaults: async () =>
      (await api.call<{ defaults: MemDefaultRow[]; version: number }>('memdefault.list', {}))
        .defaults,
    quotas: async () =>
      (await api.call<{ quotas: QuotaRow[]; version: number }>('quota.list', {})).quotas,
  };
}
