import type { FairShareConfig, ResourceVector } from './types.js';

/** 24 hours: how long until yesterday's usage counts half. */
const DAY_S = 24 * 3600;

/** POLICY defaults: half-life 24 h, horizon = half-life, λ = 1, every weight 1. */
export const defaultFairShareConfig: FairShareConfig = Object.freeze({
  halfLifeS: DAY_S,
  lambda: 1,
  weights: Object.freeze({}),
});

/**
 * Decayed cumulative usage per user, in resource-seconds, all decayed to `refAt` (ms). Pure
 * data: a fold over usage facts, so replaying the log rebuilds it exactly (within float error).
 */
export interface UsageHistory {
  readonly refAt: number;
  readonly byUser: Readonly<Record<string, ResourceVector>>;
}

const ZERO: ResourceVector = Object.freeze({ cpus: 0, memMb: 0, gpus: 0 });

/** The history with no usage. Pure. */
export function emptyHistory(): UsageHistory {
  return { refAt: 0, byUser: {} };
}

/**
 * The factor usage shrinks by from `from` to `to` (ms): `2^(-(to - from) / halfLife)`. Pure.
 * A non-positive half-life forgets everything at once; an infinite one never forgets.
 */
export function decayFactor(from: number, to: number, halfLifeS: number): number {
  const dt = to - from;
  if (dt === 0) return 1;
  if (!(halfLifeS > 0)) return dt > 0 ? 0 : 1;
  return Math.pow(2, -dt / (halfLifeS * 1000));
}

function scaled(v: ResourceVector, f: number): ResourceVector {
  return { cpus: v.cpus * f, memMb: v.memMb * f, gpus: v.gpus * f };
}

function own(rec: Readonly<Record<string, ResourceVector>>, user: string) {
  return Object.hasOwn(rec, user) ? rec[user] : undefined;
}

/**
 * Adds `resourceSeconds` used at `at` (ms) to `user`'s history. Pure: returns a new history.
 * The reference time moves to `max(refAt, at)` (everything else decays to it); usage reported
 * late (`at < refAt`) is decayed from `at`, so the result does not depend on the order in which
 * usage facts arrive. Costs O(users) when the reference time moves.
 *
 * @example addUsage(emptyHistory(), 'ann', t, { cpus: 3600, memMb: 0, gpus: 0 }, 86_400)
 */
export function addUsage(
  h: UsageHistory,
  user: string,
  at: number,
  resourceSeconds: ResourceVector,
  halfLifeS: number,
): UsageHistory {
  const refAt = Math.max(h.refAt, at);
  const f = decayFactor(h.refAt, refAt, halfLifeS);
  const entries = Object.entries(h.byUser).map(([u, v]): [string, ResourceVector] =>
    f === 1 ? [u, v] : [u, scaled(v, f)],
  );
  const i = entries.findIndex(([u]) => u === user);
  const base = i >= 0 ? entries[i]![1] : ZERO;
  const add = scaled(resourceSeconds, decayFactor(at, refAt, halfLifeS));
  const next: ResourceVector = {
    cpus: base.cpus + add.cpus,
    memMb: base.memMb + add.memMb,
    gpus: base.gpus + add.gpus,
  };
  if (i >= 0) entries[i] = [user, next];
  else entries.push([user, next]);
  // fromEntries defines own properties, so a user called `__proto__` is data, not a prototype.
  return { refAt, byUser: Object.fromEntries(entries) };
}

/** `user`'s decayed usage (resource-seconds) as of `now` (ms). Pure; zero for an unknown user. */
export function historyAt(
  h: UsageHistory,
  user: string,
  now: number,
  halfLifeS: number,
): ResourceVector {
  const v = own(h.byUser, user);
  return v ? scaled(v, decayFactor(h.refAt, now, halfLifeS)) : { ...ZERO };
}
