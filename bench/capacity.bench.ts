import { writeFile } from 'node:fs/promises';
import {
  DAY_MS,
  DEFAULT_PREEMPTION,
  admitPromise,
  defaultFairShareConfig,
  heldNodes,
  planPreemptions,
  placeRound,
  queueOrder,
  reservationGate,
  type FarmModel,
  type Hold,
  type NodeState,
  type PromiseNeed,
  type Reservation,
  type RunningWork,
  type Task,
} from '../src/policy/index.js';
import { prng, syntheticFarm } from '../test/support/policy-arbitraries.js';
import { paired } from './support.js';

/**
 * `npm run bench:capacity`: the placement round's cost with reservations, in the same run.
 * One round is what the scheduler does per round on its pure side: the reservation gate's
 * verdict per job (exclusions), the fair-share queue, the placement with pending reasons and
 * the gate's reasons merged in. "before": no reservations; "after": 1,000 reservations (some
 * daily) on the same farm and queue. Rounds alternate in pairs; the ratio is the median of the
 * pairs' ratios. Sizes scale with BENCH_SCALE (default 1: 10,000 waiting tasks, 500 nodes).
 * "after" also has 10,000 pending start-by promises: promised jobs go first in the queue, and the
 * leader's preemption decision round (`planPreemptions`, once a second) runs over all of them
 * against the work the round placed (the worst case: every promise urgent). Admission latency:
 * `admitPromise` on that farm (10,000 bookings and the running work as holds, the reservations),
 * p50/p99 over 500 asks.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const NOW = Date.UTC(2026, 11, 5);
const LIMITS = [undefined, 600, 3600, 4 * 3600, 86_400];

function reservations(n: number, nodes: readonly NodeState[], users: number): Reservation[] {
  const rnd = prng(7);
  const pick = () => Math.floor(rnd() * nodes.length);
  return Array.from({ length: n }, (_, i) => {
    const start = NOW + Math.floor(rnd() * 7 * DAY_MS);
    const count = 1 + Math.floor(rnd() * 3);
    return {
      name: `r${i}`,
      start,
      end: start + (1 + Math.floor(rnd() * 8)) * 3_600_000,
      nodes: Array.from({ length: count }, () => nodes[pick()]!.id),
      users: [`u${Math.floor(rnd() * users)}`],
      flags: rnd() < 0.1 ? ['daily'] : [],
    };
  });
}

/** One round; placements per second of it. */
function round(
  tasks: readonly Task[],
  nodes: NodeState[],
  limits: Map<string, number | undefined>,
  rs: Reservation[],
  promises?: Promises,
) {
  const t0 = performance.now();
  const gate = rs.length > 0 ? reservationGate(rs, nodes, NOW) : undefined;
  const verdicts = new Map<string, ReturnType<NonNullable<typeof gate>['check']>>();
  const gated: Task[] = [];
  for (const t of tasks) {
    let v = verdicts.get(t.jobId);
    if (gate && !v) {
      const timeoutS = limits.get(t.jobId);
      v = gate.check({ user: t.user, ...(timeoutS !== undefined && { timeoutS }) });
      verdicts.set(t.jobId, v);
    }
    if (v?.blocked.length) continue;
    gated.push(
      v?.exclude.length
        ? {
            ...t,
            excludeNodes:
              t.excludeNodes.length === 0 ? v.exclude : [...t.excludeNodes, ...v.exclude],
          }
        : t,
    );
  }
  const capacity = nodes.reduce(
    (c, n) => ({
      cpus: c.cpus + n.capacity.cpus,
      memMb: c.memMb + n.capacity.memMb,
      gpus: c.gpus + n.capacity.gpus,
    }),
    { cpus: 0, memMb: 0, gpus: 0 },
  );
  let ranked = queueOrder(gated, {
    capacity,
    history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
    config: defaultFairShareConfig,
  });
  const promised = promises?.jobs;
  if (promised?.size) {
    const first = ranked.filter((t) => promised.has(t.task.jobId));
    ranked = [...first, ...ranked.filter((t) => !promised.has(t.task.jobId))];
  }
  const out = placeRound(ranked, nodes, NOW, { reasons: true });
  if (gate) {
    for (const [id, reasons] of out.waiting) {
      const v = verdicts.get(id.slice(0, id.lastIndexOf(':')));
      if (v) gate.explain(v, reasons);
    }
  }
  const roundEnd = performance.now();
  let preemptMs = 0;
  // The preemption decision is the leader's tick step (once a second), not part of a round.
  if (promises) {
    const p0 = performance.now();
    planPreemptions(preemptionInput(nodes, out.placements, promises.needs));
    preemptMs = performance.now() - p0;
  }
  const s = (roundEnd - t0) / 1000;
  return {
    placements: out.placements.length,
    perSec: Math.round(out.placements.length / s),
    ms: s * 1000,
    preemptMs,
  };
}

interface Promises {
  readonly jobs: ReadonlySet<string>;
  readonly needs: readonly PromiseNeed[];
}

/** 10,000 pending promises: every tenth real job, the rest jobs not in the queue (placed). */
function promisesOf(tasks: readonly Task[], n: number): Promises {
  const real = [...new Set(tasks.map((t) => t.jobId))].filter((_, i) => i % 10 === 0);
  const jobs = new Set([...real, ...Array.from({ length: n - real.length }, (_, i) => `p${i}`)]);
  const needs = [...jobs].map((jobId, i) => ({
    jobId,
    user: `u${i % 50}`,
    priority: 0,
    request: { cpus: 1 + (i % 4), memMb: 2048, gpus: 0 },
    labels: {},
    excludeNodes: [],
    startBy: NOW + 60_000 + (i % 600) * 1000,
  }));
  return { jobs, needs };
}

/** The farm after the round: its placements run (no time limit), nodes full with them. */
function preemptionInput(
  nodes: readonly NodeState[],
  placements: readonly { task: Task; node: string }[],
  needs: readonly PromiseNeed[],
) {
  const used = new Map(nodes.map((n) => [n.id, { ...n.used }]));
  const running: RunningWork[] = placements.map((p, i) => {
    const u = used.get(p.node)!;
    u.cpus += p.task.request.cpus;
    u.memMb += p.task.request.memMb;
    u.gpus += p.task.request.gpus;
    return {
      chunk: p.task.id,
      worker: `${p.task.id}:1`,
      attempt: 1,
      jobId: p.task.jobId,
      user: p.task.user,
      priority: p.task.priority,
      node: p.node,
      request: p.task.request,
      until: i % 2 === 0 ? Infinity : NOW + 3_600_000,
      preemptions: 0,
    };
  });
  return {
    now: NOW,
    nodes: nodes.map((n) => ({ ...n, used: used.get(n.id)! })),
    running,
    needs,
    stopping: new Set<string>(),
    waitingUsers: [],
    weight: () => 1,
    params: DEFAULT_PREEMPTION,
  };
}

/** `admitPromise` latencies (ms) on the farm with the promises booked and the work running. */
function admissionLatency(
  nodes: readonly NodeState[],
  rs: Reservation[],
  promises: Promises,
  placed: readonly { task: Task; node: string }[],
) {
  const holds: Hold[] = [
    ...placed.map((p, i) => ({
      node: p.node,
      request: p.task.request,
      from: NOW - 60_000,
      until: i % 2 === 0 ? Infinity : NOW + 3_600_000,
    })),
    ...promises.needs.map((n, i) => ({
      node: nodes[i % nodes.length]!.id,
      request: n.request,
      from: n.startBy - 30_000,
      until: n.startBy + 3_600_000,
    })),
  ];
  const farm: FarmModel = {
    now: NOW,
    nodes,
    holds,
    reservations: rs.map((r) => ({ ...r, held: heldNodes(r, nodes) })),
  };
  const ms: number[] = [];
  let accepted = 0;
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    const a = admitPromise(
      {
        user: `u${i % 50}`,
        request: { cpus: 1 + (i % 8), memMb: 4096, gpus: 0 },
        labels: {},
        timeoutS: 600 + (i % 5) * 3600,
        startBy: NOW + (5 + (i % 120)) * 60_000,
      },
      farm,
    );
    ms.push(performance.now() - t0);
    if (a.accepted) accepted++;
  }
  ms.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { asks: 500, accepted, p50Ms: r(ms[250]!), p99Ms: r(ms[Math.floor(500 * 0.99)]!) };
}

async function main(): Promise<void> {
  const users = 50;
  const { nodes, tasks } = syntheticFarm({
    tasks: Math.round(10_000 * scale),
    nodes: Math.round(500 * scale),
    users,
  });
  const limits = new Map<string, number | undefined>();
  for (const t of tasks)
    if (!limits.has(t.jobId)) limits.set(t.jobId, LIMITS[limits.size % LIMITS.length]);
  const rs = reservations(Math.round(1_000 * scale), nodes, users);
  const promises = promisesOf(tasks, Math.round(10_000 * scale));
  const before = round(tasks, nodes, limits, []);
  const after = round(tasks, nodes, limits, rs, promises);
  const preemptMs: number[] = [];
  const pair = await paired(
    RUNS,
    async () => round(tasks, nodes, limits, []).perSec,
    async () => {
      const r = round(tasks, nodes, limits, rs, promises);
      preemptMs.push(r.preemptMs);
      return r.perSec;
    },
  );
  preemptMs.sort((a, b) => a - b);
  const placed = placeRound(
    queueOrder(tasks, {
      capacity: { cpus: 1e9, memMb: 1e12, gpus: 1e6 },
      history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
      config: defaultFairShareConfig,
    }),
    nodes,
    NOW,
    { reasons: false },
  ).placements;
  const admission = admissionLatency(nodes, rs, promises, placed);
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    runs: RUNS,
    farm: {
      waitingTasks: tasks.length,
      nodes: nodes.length,
      users,
      reservations: rs.length,
      pendingPromises: promises.jobs.size,
    },
    before: { placements: before.placements, placementsPerSec: pair.raw },
    after: { placements: after.placements, placementsPerSec: pair.ours },
    afterVsBefore: pair.ratio,
    afterVsBeforeRange: pair.range,
    preemptionDecisionMsMedian: Math.round(preemptMs[Math.floor(preemptMs.length / 2)] ?? 0),
    admission,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, json + '\n');
}

await main();
