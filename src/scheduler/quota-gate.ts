import { policyBehaviour, type EntityRuntime } from '../actors/index.js';
import {
  POLICY_IDS,
  chunkId as chunkIdOf,
  parseChunkId,
  type RecordedEvent,
} from '../events/index.js';
import {
  LAUNCH_WINDOW_MS,
  createQuotaGate,
  type QuotaLimitsOf,
  type ResourceVector,
  type RoundGate,
} from '../policy/index.js';
import type { FarmIndex } from './farm-index.js';
import type { Peek } from './rules.js';

/**
 * Each user's launches in the last minute (the `launchesPerMin` throttle): `chunk.assigned`
 * from the tail (after a takeover, the log's last minute), plus placements this scheduler made
 * that the tail has not shown yet (keyed by chunk, replaced when their event arrives), so a
 * launch is never missed between the placement and its event. Entries older than the window go.
 */
export class LaunchWindow {
  private readonly byUser = new Map<string, Map<string, number>>();

  /** Fold one tail event (only `chunk.assigned` counts). */
  note(e: RecordedEvent, userOf: (jobId: string) => string | undefined): void {
    if (e.type !== 'chunk.assigned') return;
    const chunk = e.recorded.subject.slice(e.recorded.subject.lastIndexOf('.') + 1);
    const user = userOf(parseChunkId(chunk).jobId);
    if (user === undefined) return;
    const m = this.of(user);
    m.delete(`placed:${chunk}`);
    m.set(e.data.worker, e.at);
    // `recent` prunes only when some user has a quota: without one, every launch ever stayed
    // here (a leak per chunk in the soak). Launches come in log order: the oldest are first.
    for (const [k, at] of m) {
      if (at > e.at - LAUNCH_WINDOW_MS) break;
      m.delete(k);
    }
  }

  /** Launches held, every user (tests: bounded by the window, not by the farm's age). */
  get size(): number {
    let n = 0;
    for (const m of this.byUser.values()) n += m.size;
    return n;
  }

  /** A placement made now, before its event is in the log. */
  placed(user: string, chunk: string, at: number): void {
    this.of(user).set(`placed:${chunk}`, at);
  }

  /** Launch times of every user with launches in the window ending at `now`. */
  recent(now: number): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [user, m] of this.byUser) {
      for (const [k, at] of m) if (at <= now - LAUNCH_WINDOW_MS) m.delete(k);
      if (m.size === 0) this.byUser.delete(user);
      else out.set(user, [...m.values()]);
    }
    return out;
  }

  private of(user: string): Map<string, number> {
    let m = this.byUser.get(user);
    if (!m) this.byUser.set(user, (m = new Map()));
    return m;
  }
}

/** The quotas in force (the `policy` entity `quotas` the scheduler folds from its tail). */
export function quotasOf(runtime: EntityRuntime): Readonly<Record<string, QuotaLimitsOf>> {
  return runtime.peek(policyBehaviour, POLICY_IDS.quotas)?.state.context.quotas ?? {};
}

/**
 * What each user with a quota holds now: every live chunk's request, plus placements awaiting
 * their `chunk.assigned` (in flight and not yet live), so a round never counts a placement of
 * the round before as free room.
 */
export function usedByUser(
  peek: Peek,
  index: FarmIndex,
  quotas: Readonly<Record<string, unknown>>,
  inFlight: ReadonlySet<string>,
): Map<string, ResourceVector> {
  const used = new Map<string, ResourceVector>();
  const add = (jobId: string, r: ResourceVector | undefined) => {
    const user = peek.job(jobId)?.context.spec?.user;
    if (!r || user === undefined || !Object.hasOwn(quotas, user)) return;
    const u = used.get(user) ?? { cpus: 0, memMb: 0, gpus: 0 };
    u.cpus += r.cpus;
    u.memMb += r.memMb;
    u.gpus += r.gpus;
    used.set(user, u);
  };
  for (const [jobId, live] of index.liveByJob) add(jobId, live.held);
  for (const id of inFlight) {
    if (index.live.has(id)) continue;
    const c = peek.chunk(id)?.context;
    const spec = c && peek.job(c.jobId)?.context.spec;
    if (c && spec) add(c.jobId, c.retry?.request ?? c.request ?? spec);
  }
  return used;
}

/**
 * The quota gate of one round, or undefined when no user has a quota (the round's fast path
 * stays as it was). Placements it lets through are recorded as launches at once.
 */
export function quotaGateFor(
  deps: { peek: Peek; index: FarmIndex; runtime: EntityRuntime; launches: LaunchWindow },
  inFlight: ReadonlySet<string>,
  now: number,
): RoundGate | undefined {
  const quotas = quotasOf(deps.runtime);
  if (Object.keys(quotas).length === 0) return undefined;
  const gate = createQuotaGate({
    quotas,
    used: usedByUser(deps.peek, deps.index, quotas, inFlight),
    launches: deps.launches.recent(now),
    now,
  });
  return {
    check: (t) => gate.check(t),
    take: (t) => {
      gate.take(t);
      if (Object.hasOwn(quotas, t.user))
        deps.launches.placed(t.user, chunkIdOf(t.jobId, t.index), now);
    },
  };
}
