import { isoTime } from './reasons.js';
import type { PendingReason, ResourceKey, ResourceVector, RoundGate, Task } from './types.js';

/** A user's limits (the `policy.quota_set` data): absent means no limit on that. */
export interface QuotaLimits {
  readonly cpus?: number | undefined;
  readonly memMb?: number | undefined;
  readonly gpus?: number | undefined;
  readonly launchesPerMin?: number | undefined;
}

/** The launch throttle's window: launches in the last minute count. */
export const LAUNCH_WINDOW_MS = 60_000;

/** Floating-point slack: 0.1 + 0.2 cpus fit a 0.3 quota. */
const EPS = 1e-9;

/** The hold of the fast path (no words asked for): one shared object, never shown. */
const HELD: PendingReason = Object.freeze({ code: 'Quota', message: '', unblock: '' });

/** What a round's quota gate starts from: limits, running use and recent launches per user. */
export interface QuotaInput {
  readonly quotas: Readonly<Record<string, QuotaLimits>>;
  /** Resources each user holds now (running and being placed). */
  readonly used: ReadonlyMap<string, ResourceVector>;
  /** Times (ms) of each user's launches, any order; only those within the window count. */
  readonly launches: ReadonlyMap<string, readonly number[]>;
  readonly now: number;
}

const UNITS: Record<ResourceKey, string> = { cpus: 'cpus', memMb: 'MB', gpus: 'gpus' };
const FLAGS: Record<ResourceKey, string> = { cpus: '--cpus', memMb: '--mem', gpus: '--gpus' };
const own = <T>(rec: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;
const round = (x: number) => Math.round(x * 1000) / 1000;

/** `Quota` for a resource limit: the limit, the use that hit it, and what frees it. Pure. */
export function resourceQuotaReason(
  user: string,
  r: ResourceKey,
  max: number,
  used: number,
  request: number,
): PendingReason {
  const u = UNITS[r];
  const free = round(used + request - max);
  return {
    code: 'Quota',
    message: `user ${user}'s ${r} quota is ${max} ${u}: ${round(used)} ${u} running + ${round(request)} ${u} asked would make ${round(used + request)}`,
    unblock:
      request > max
        ? `the request (${round(request)} ${u}) is above the quota itself: an admin raises it (drover quota set ${user} ${FLAGS[r]} N) or the request shrinks`
        : `${user}'s running tasks finish and free ${free} ${u}, or an admin raises the quota (drover quota set ${user} ${FLAGS[r]} N)`,
    details: { scope: 'user', user, limit: r, max, used: round(used), request: round(request) },
  };
}

/** `Quota` for the launch throttle: launches in the last minute, and when the oldest leaves it. */
export function launchQuotaReason(
  user: string,
  max: number,
  recent: readonly number[],
): PendingReason {
  const oldest = recent.length ? Math.min(...recent) : undefined;
  const when = oldest === undefined ? undefined : isoTime(oldest + LAUNCH_WINDOW_MS);
  return {
    code: 'Quota',
    message: `user ${user} launched ${recent.length} tasks in the last minute: the throttle allows ${max} a minute`,
    unblock:
      when === undefined
        ? `an admin raises the throttle (drover quota set ${user} --launches-per-min N)`
        : `the oldest launch leaves the minute at ${when}, or an admin raises the throttle (drover quota set ${user} --launches-per-min N)`,
    details: { scope: 'user', user, limit: 'launchesPerMin', max, used: recent.length },
  };
}

/**
 * A placement round's quota gate (POLICY `Quota`). Pure given its input: it owns copies of the
 * use and launch counts and adds each task it lets through (`take`), so the round never places a
 * user past a limit, however many of the user's tasks it walks. A user without a quota, or a
 * resource without a limit, is never held. A limit lower than the use already running (set
 * while work ran) holds new work until enough ends; nothing running is stopped.
 */
export function createQuotaGate(input: QuotaInput): RoundGate {
  const used = new Map<string, ResourceVector>();
  const recent = new Map<string, number[]>();
  const since = input.now - LAUNCH_WINDOW_MS;
  const usedOf = (user: string) => {
    let u = used.get(user);
    if (!u) used.set(user, (u = { ...(input.used.get(user) ?? { cpus: 0, memMb: 0, gpus: 0 }) }));
    return u;
  };
  const recentOf = (user: string) => {
    let r = recent.get(user);
    if (!r) recent.set(user, (r = (input.launches.get(user) ?? []).filter((t) => t > since)));
    return r;
  };
  return {
    check(t: Task, explain = true): PendingReason | undefined {
      const q = own(input.quotas, t.user);
      if (!q) return undefined;
      const u = usedOf(t.user);
      for (const r of ['cpus', 'memMb', 'gpus'] as const) {
        const max = q[r];
        if (max !== undefined && u[r] + t.request[r] > max + EPS)
          return explain ? resourceQuotaReason(t.user, r, max, u[r], t.request[r]) : HELD;
      }
      const perMin = q.launchesPerMin;
      if (perMin !== undefined && recentOf(t.user).length >= perMin)
        return explain ? launchQuotaReason(t.user, perMin, recentOf(t.user)) : HELD;
      return undefined;
    },
    take(t: Task): void {
      if (!own(input.quotas, t.user)) return;
      const u = usedOf(t.user);
      u.cpus += t.request.cpus;
      u.memMb += t.request.memMb;
      u.gpus += t.request.gpus;
      recentOf(t.user).push(input.now);
    },
  };
}
