import { fitsIn, labelsMatch } from './farm.js';
import { formatResources, isoTime } from './reasons.js';
import { gateJob, type HeldReservation } from './reservations.js';
import type { NodeState, ResourceVector } from './types.js';

/**
 * Capacity a node is known to be held for over `[from, until)` (ms; `until` Infinity: a job
 * without a time limit). Running jobs hold until their start + time limit; accepted promises
 * hold from their booked start.
 */
export interface Hold {
  readonly node: string;
  readonly request: ResourceVector;
  readonly from: number;
  readonly until: number;
  /**
   * The running work holding it, when known: admission may count it as stopped (preemption)
   * if the guards would allow stopping it for this promise (`preemptibleHolds`).
   */
  readonly owner?: {
    readonly chunk: string;
    readonly jobId: string;
    readonly user: string;
    readonly priority: number;
    readonly preemptions: number;
  };
  /** Preemption may stop it for the promise being admitted: it ends `stopMs` after now. */
  readonly preemptible?: boolean;
}

/** What a start-by promise asks for. */
export interface PromiseAsk {
  readonly user: string;
  readonly request: ResourceVector;
  readonly labels: Readonly<Record<string, string>>;
  /** The job's time limit (s); none: it holds its node forever. */
  readonly timeoutS?: number;
  /** Latest start (ms). */
  readonly startBy: number;
}

/** The farm as admission models it at `now`. */
export interface FarmModel {
  readonly now: number;
  readonly nodes: readonly NodeState[];
  readonly holds: readonly Hold[];
  readonly reservations: readonly HeldReservation[];
  /** How long stopping preemptible work takes (its grace; default 10 s). */
  readonly stopMs?: number;
}

/** Admission's answer: a booking that keeps the promise, or why none exists. */
export type Admission =
  | { readonly accepted: true; readonly node: string; readonly startAt: number }
  | { readonly accepted: false; readonly reason: string };

/** Whether `q` fits on `n` throughout `[a, b)` given the holds on it. Pure. */
export function fitsThroughout(
  n: NodeState,
  holds: readonly Hold[],
  q: ResourceVector,
  a: number,
  b: number,
): boolean {
  // Use only rises when a hold starts, so checking `a` and every start inside `[a, b)` suffices.
  const points = [a, ...holds.filter((h) => h.from > a && h.from < b).map((h) => h.from)];
  return points.every((p) => {
    const used = { cpus: 0, memMb: 0, gpus: 0 };
    for (const h of holds) {
      if (h.from > p || h.until <= p) continue;
      used.cpus += h.request.cpus;
      used.memMb += h.request.memMb;
      used.gpus += h.request.gpus;
    }
    const free = {
      cpus: n.capacity.cpus - used.cpus,
      memMb: n.capacity.memMb - used.memMb,
      gpus: n.capacity.gpus - used.gpus,
    };
    return fitsIn(q, free);
  });
}

/**
 * Decide a start-by promise under the farm's own model. Pure. The job is booked on the first
 * node (in id order) and earliest time `t ≤ startBy` at which, by the time limits of what holds
 * the node (running jobs and earlier promises) and by the reservations, it fits from `t` for its
 * whole time limit. Times tried: now and every moment a hold on the node ends (a hold marked
 * `preemptible` ends `stopMs` after now: preemption will stop it). It never accepts
 * a promise the model cannot keep; the scheduler keeps the model true by placing promised jobs
 * first and holding booked capacity for them.
 */
export function admitPromise(ask: PromiseAsk, farm: FarmModel): Admission {
  const { now } = farm;
  if (ask.startBy < now)
    return { accepted: false, reason: `start-by ${isoTime(ask.startBy)} is past` };
  const limit = ask.timeoutS !== undefined ? ask.timeoutS * 1000 : Infinity;
  const ids = farm.nodes.map((n) => n.id);
  const nodes = [...farm.nodes]
    .filter(
      (n) =>
        n.state === 'ready' && labelsMatch(n.labels, ask.labels) && fitsIn(ask.request, n.capacity),
    )
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  if (nodes.length === 0)
    return {
      accepted: false,
      reason: `no ready node fits ${formatResources(ask.request)} with its labels`,
    };
  const stopAt = now + (farm.stopMs ?? 10_000);
  for (const n of nodes) {
    const holds = farm.holds
      .filter((h) => h.node === n.id)
      .map((h) => (h.preemptible && h.until > stopAt ? { ...h, until: stopAt } : h));
    const times = [now, ...holds.map((h) => h.until).filter((t) => t > now && t <= ask.startBy)];
    for (const t of [...new Set(times)].sort((a, b) => a - b)) {
      const job = { user: ask.user, ...(ask.timeoutS !== undefined && { timeoutS: ask.timeoutS }) };
      if (gateJob(job, farm.reservations, t, ids).exclude.includes(n.id)) continue;
      if (fitsThroughout(n, holds, ask.request, t, t + limit))
        return { accepted: true, node: n.id, startAt: t };
    }
  }
  return {
    accepted: false,
    reason: `no node frees ${formatResources(ask.request)} by ${isoTime(ask.startBy)} for ${Number.isFinite(limit) ? `${ask.timeoutS} s` : 'ever (no time limit)'}, by the time limits of what holds them and the reservations`,
  };
}
