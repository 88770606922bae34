import { fitsIn, labelsMatch } from './farm.js';
import { formatResources } from './reasons.js';
import type { Hold } from './promises.js';
import { RESOURCE_KEYS, type NodeState, type ResourceVector } from './types.js';

/**
 * Cook-style guards against thrashing. A preemption stops work someone waited for, so it must
 * buy a real difference in fairness and stay rare: the victim's user must be over its fair share
 * and ahead of the promise's user by at least `minShareGap` (dominant share divided by weight,
 * the promise's own request counted), at most `maxPerRound` attempts are stopped by one decision
 * round, and no job is preempted more than `maxPerJob` times in its life.
 */
export interface PreemptionParams {
  readonly minShareGap: number;
  readonly maxPerRound: number;
  readonly maxPerJob: number;
  /**
   * How long before its start-by a promise must be able to start without preemption: a node
   * that frees later than `startBy - leadMs` (by the time limits of what runs) does not count,
   * so the victims' grace and a relaunch still fit before the start-by.
   */
  readonly leadMs: number;
}

/** The defaults: a gap of 0.1, 4 preemptions a round, a job preempted at most twice, 60 s lead. */
export const DEFAULT_PREEMPTION: PreemptionParams = {
  minShareGap: 0.1,
  maxPerRound: 4,
  maxPerJob: 2,
  leadMs: 60_000,
};

/** One running attempt, as preemption sees it. */
export interface RunningWork {
  readonly chunk: string;
  readonly worker: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly user: string;
  readonly priority: number;
  readonly node: string;
  readonly request: ResourceVector;
  /** When its time limit ends it (ms; Infinity without one). */
  readonly until: number;
  /** Times its job was preempted before (attempts ended `Preempted`, every chunk). */
  readonly preemptions: number;
  /** Never a victim (a promised job that started). */
  readonly protected?: boolean;
}

/** A pending start-by promise whose job waits for a place. */
export interface PromiseNeed {
  readonly jobId: string;
  readonly user: string;
  readonly priority: number;
  readonly request: ResourceVector;
  readonly labels: Readonly<Record<string, string>>;
  readonly excludeNodes: readonly string[];
  readonly startBy: number;
}

export interface PreemptionInput {
  readonly now: number;
  readonly nodes: readonly NodeState[];
  readonly running: readonly RunningWork[];
  /** Earliest start-by first is how they are served. */
  readonly needs: readonly PromiseNeed[];
  /** Chunks already asked to stop (by an earlier decision): their capacity counts as free. */
  readonly stopping: ReadonlySet<string>;
  /** Users with waiting work (they count among those who share the farm). */
  readonly waitingUsers: readonly string[];
  /** A user's fair-share weight (default 1). */
  readonly weight: (user: string) => number;
  readonly params: PreemptionParams;
}

/** One decision: stop `victims` on `node` so the promise's job fits there. */
export interface Preemption {
  readonly promise: string;
  readonly node: string;
  readonly victims: readonly RunningWork[];
  readonly why: string;
}

const zero = (): ResourceVector => ({ cpus: 0, memMb: 0, gpus: 0 });
function addTo(a: ResourceVector, b: ResourceVector, sign: 1 | -1): void {
  for (const k of RESOURCE_KEYS) a[k] += sign * b[k];
}

/** Users' running resources and the farm's capacity: the instantaneous shares preemption compares. */
export class Shares {
  private readonly used = new Map<string, ResourceVector>();
  private readonly totalWeight: number;

  constructor(
    private readonly capacity: ResourceVector,
    private readonly weight: (user: string) => number,
    running: readonly { user: string; request: ResourceVector }[],
    others: readonly string[],
  ) {
    for (const r of running) this.add(r.user, r.request, 1);
    for (const u of others) if (!this.used.has(u)) this.used.set(u, zero());
    let w = 0;
    for (const u of this.used.keys()) w += this.weight(u);
    this.totalWeight = w;
  }

  add(user: string, r: ResourceVector, sign: 1 | -1): void {
    let u = this.used.get(user);
    if (!u) this.used.set(user, (u = zero()));
    addTo(u, r, sign);
  }

  /** Dominant share over weight (Cook's DRU), with `extra` counted as the user's. */
  dru(user: string, extra?: ResourceVector): number {
    const u = this.used.get(user) ?? zero();
    let d = 0;
    for (const k of RESOURCE_KEYS) {
      if (this.capacity[k] <= 0) continue;
      d = Math.max(d, (u[k] + (extra?.[k] ?? 0)) / this.capacity[k]);
    }
    return d / this.weight(user);
  }

  /** Over its fair share: weight over the sum of the sharing users' weights. */
  over(user: string): boolean {
    return this.totalWeight > 0 && this.dru(user) > 1 / this.totalWeight;
  }
}

/**
 * Why `v` may not be stopped for `need` with the shares as they are (undefined: it may). Pure.
 * The guards every decision of `planPreemptions` passes, exported for the property tests.
 */
export function victimRefusal(
  v: RunningWork,
  need: PromiseNeed,
  shares: Shares,
  jobPreemptions: number,
  params: PreemptionParams,
): string | undefined {
  if (v.protected) return 'protected';
  if (v.user === need.user) return 'same user';
  if (v.priority > need.priority) return 'higher priority';
  if (jobPreemptions >= params.maxPerJob) return 'preempted enough';
  if (!shares.over(v.user)) return 'under its share';
  if (shares.dru(v.user) - shares.dru(need.user, need.request) < params.minShareGap)
    return 'share gap too small';
  return undefined;
}

function eligibleNodes(need: PromiseNeed, nodes: readonly NodeState[]): NodeState[] {
  return nodes
    .filter(
      (n) =>
        n.state === 'ready' &&
        !need.excludeNodes.includes(n.id) &&
        labelsMatch(n.labels, need.labels) &&
        fitsIn(need.request, n.capacity),
    )
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Free capacity of `n` counting what is asked to stop as gone. */
function freeOf(
  n: NodeState,
  running: readonly RunningWork[] = [],
  stopping: ReadonlySet<string>,
  claimed: ReadonlyMap<string, ResourceVector>,
) {
  const free = { cpus: 0, memMb: 0, gpus: 0 };
  const c = claimed.get(n.id);
  for (const k of RESOURCE_KEYS) free[k] = n.capacity[k] - n.used[k] - (c?.[k] ?? 0);
  for (const r of running) if (stopping.has(r.chunk)) addTo(free, r.request, 1);
  return free;
}

/** Whether the job fits on `n` by `by` as what runs there ends by its time limit. */
function freesBy(
  need: PromiseNeed,
  free: ResourceVector,
  onNode: readonly RunningWork[],
  by: number,
): boolean {
  const f = { ...free };
  for (const r of [...onNode].filter((x) => x.until <= by).sort((a, b) => a.until - b.until)) {
    addTo(f, r.request, 1);
    if (fitsIn(need.request, f)) return true;
  }
  return false;
}

/**
 * Decide which running attempts to stop so that pending promises can start by their start-by.
 * Pure. A promise needs preemption only when its job fits on no node now (work already asked
 * to stop counted as gone) and no node frees enough, by the time limits of what runs, before
 * `startBy - leadMs`. Then, on the node needing the fewest victims, victims are chosen one at
 * a time (lowest priority, then the user furthest over its share, then the latest time limit),
 * each passing `victimRefusal` against the shares as earlier choices left them. The round
 * stops at `maxPerRound` victims; a node whose needs it cannot meet within the guards is left
 * alone (nothing is stopped for nothing).
 */
export function planPreemptions(input: PreemptionInput): Preemption[] {
  const { params } = input;
  const ready = input.nodes.filter((n) => n.state === 'ready');
  const capacity = zero();
  for (const n of ready) addTo(capacity, n.capacity, 1);
  const live = input.running.filter((r) => !input.stopping.has(r.chunk));
  // Per node, once: a need looks only at its nodes' work (10,000 needs on a big farm).
  const byNode = new Map<string, RunningWork[]>();
  for (const r of input.running) {
    const list = byNode.get(r.node);
    if (list) list.push(r);
    else byNode.set(r.node, [r]);
  }
  const shares = new Shares(capacity, input.weight, live, [
    ...input.waitingUsers,
    ...input.needs.map((n) => n.user),
  ]);
  const stopping = new Set(input.stopping);
  // What this round's decisions freed is the promise's: later promises do not count it free.
  const claimed = new Map<string, ResourceVector>();
  const jobCount = new Map<string, number>();
  for (const r of input.running) jobCount.set(r.jobId, r.preemptions);
  const out: Preemption[] = [];
  let budget = params.maxPerRound;
  const needs = [...input.needs].sort((a, b) => a.startBy - b.startBy || cmp(a.jobId, b.jobId));
  for (const need of needs) {
    if (budget <= 0) break;
    const nodes = eligibleNodes(need, input.nodes);
    const frees = nodes.map((n) => ({ n, free: freeOf(n, byNode.get(n.id), stopping, claimed) }));
    if (frees.some((x) => fitsIn(need.request, x.free))) continue;
    const by = need.startBy - params.leadMs;
    const onNode = (id: string) => (byNode.get(id) ?? []).filter((r) => !stopping.has(r.chunk));
    if (frees.some((x) => freesBy(need, x.free, onNode(x.n.id), by))) continue;
    let best: { node: string; victims: RunningWork[] } | undefined;
    for (const { n, free } of frees) {
      const victims = chooseOn(need, free, onNode(n.id), shares, jobCount, params, budget);
      if (victims && (!best || victims.length < best.victims.length))
        best = { node: n.id, victims };
    }
    if (!best) continue;
    for (const v of best.victims) {
      stopping.add(v.chunk);
      shares.add(v.user, v.request, -1);
      jobCount.set(v.jobId, (jobCount.get(v.jobId) ?? 0) + 1);
    }
    shares.add(need.user, need.request, 1);
    const c = claimed.get(best.node) ?? zero();
    addTo(c, need.request, 1);
    claimed.set(best.node, c);
    budget -= best.victims.length;
    const names = best.victims.map((v) => `${v.chunk} (${v.user})`).join(', ');
    out.push({
      promise: need.jobId,
      node: best.node,
      victims: best.victims,
      why: `job ${need.jobId} (${formatResources(need.request)}) could not otherwise start by ${new Date(need.startBy).toISOString()}: stopping ${names} on ${best.node}`,
    });
  }
  return out;
}

/** Victims on one node, one at a time under the guards, until the job fits (or undefined). */
function chooseOn(
  need: PromiseNeed,
  free: ResourceVector,
  candidates: readonly RunningWork[],
  base: Shares,
  jobCount: ReadonlyMap<string, number>,
  params: PreemptionParams,
  budget: number,
): RunningWork[] | undefined {
  const f = { ...free };
  const counts = new Map(jobCount);
  const chosen: RunningWork[] = [];
  // Shares as the choices so far leave them: simulated on a copy, undone if the node fails.
  const undo: RunningWork[] = [];
  try {
    while (!fitsIn(need.request, f)) {
      if (chosen.length >= budget) return undefined;
      const ok = candidates
        .filter((c) => !chosen.includes(c))
        .filter((c) => !victimRefusal(c, need, base, counts.get(c.jobId) ?? 0, params))
        .sort(
          (a, b) =>
            a.priority - b.priority ||
            base.dru(b.user) - base.dru(a.user) ||
            b.until - a.until ||
            cmp(a.chunk, b.chunk),
        );
      const v = ok[0];
      if (!v) return undefined;
      chosen.push(v);
      addTo(f, v.request, 1);
      base.add(v.user, v.request, -1);
      undo.push(v);
      counts.set(v.jobId, (counts.get(v.jobId) ?? 0) + 1);
    }
    return chosen;
  } finally {
    for (const v of undo) base.add(v.user, v.request, 1);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Mark the running holds the guards would let preemption stop for a promise of `ask`: admission
 * then counts them as ending once stopped. Pure. Each hold is judged against the shares as they
 * are (not one after another), so admission is as willing as one decision round of the
 * scheduler, which then still applies every guard, its round limit included.
 */
export function preemptibleHolds<H extends Hold>(
  ask: { user: string; priority: number; request: ResourceVector },
  holds: readonly H[],
  nodes: readonly NodeState[],
  weight: (user: string) => number,
  params: PreemptionParams,
): H[] {
  const capacity = zero();
  for (const n of nodes) if (n.state === 'ready') addTo(capacity, n.capacity, 1);
  const running = holds.flatMap((h) =>
    h.owner ? [{ user: h.owner.user, request: h.request }] : [],
  );
  const shares = new Shares(capacity, weight, running, [ask.user]);
  const need: PromiseNeed = { ...ask, jobId: '', labels: {}, excludeNodes: [], startBy: 0 };
  return holds.map((h) => {
    const o = h.owner;
    if (!o) return h;
    const v: RunningWork = {
      ...o,
      worker: '',
      attempt: 1,
      node: h.node,
      request: h.request,
      until: h.until,
    };
    return victimRefusal(v, need, shares, o.preemptions, params) ? h : { ...h, preemptible: true };
  });
}
