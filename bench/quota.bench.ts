import {
  createQuotaGate,
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type QuotaLimitsOf,
} from '../src/policy/index.js';
import { syntheticFarm, task, vec } from '../test/support/policy-arbitraries.js';

/**
 * The placement round's cost with quotas (issue 18): the same ranked queue of `TASKS` waiting
 * chunks of 1,000 users (each its own jobs) placed on `NODES` nodes, in the same run: with no
 * gate; with every user under a quota that never binds (the gate's pure overhead, same
 * placements); and with a binding one (8 cpus, 30 launches a minute). Best of 5 rounds each.
 * Prints JSON. Scale with BENCH_SCALE (default 1: 50,000 tasks, 1,000 nodes).
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const TASKS = Math.round(50_000 * scale);
const NODES = Math.max(10, Math.round(1_000 * scale));
const USERS = 1_000;
const RUNS = 5;

const { nodes } = syntheticFarm({ tasks: 0, nodes: NODES, users: USERS });
const sizes = [vec(1, 2048), vec(2, 4096), vec(4, 8192), vec(1, 1024, 1)];
const tasks = Array.from({ length: TASKS }, (_, i) =>
  task({
    jobId: `job${i % (USERS * 5)}`,
    index: i,
    user: `u${i % USERS}`,
    order: i % (USERS * 5),
    submittedAt: i % (USERS * 5),
    request: sizes[i % sizes.length]!,
  }),
);
const ranked = queueOrder(tasks, {
  capacity: vec(64 * NODES, 262_144 * NODES, 4 * NODES),
  history: () => vec(0, 0, 0),
  config: defaultFairShareConfig,
});
const quotasOf = (limits: QuotaLimitsOf) => {
  const q: Record<string, QuotaLimitsOf> = {};
  for (let u = 0; u < USERS; u++) q[`u${u}`] = limits;
  return q;
};
const loose = quotasOf({ cpus: 1e6, memMb: 1e9, launchesPerMin: 1e6 });
const binding = quotasOf({ cpus: 8, launchesPerMin: 30 });

function time(quotas?: Record<string, QuotaLimitsOf>): { placements: number; seconds: number } {
  let best = Infinity;
  let placements = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const gate = quotas
      ? createQuotaGate({ quotas, used: new Map(), launches: new Map(), now: 1_000_000 })
      : undefined;
    const round = placeRound(ranked, nodes, 1_000_000, { reasons: false, ...(gate && { gate }) });
    best = Math.min(best, (performance.now() - start) / 1000);
    placements = round.placements.length;
  }
  return { placements, seconds: best };
}

// Warm the JIT on both paths first: the first timed shape would otherwise pay for it.
time();
time(loose);
const without = time();
const overhead = time(loose);
const withQuotas = time(binding);
const rate = (r: { placements: number; seconds: number }) => Math.round(r.placements / r.seconds);
console.log(
  JSON.stringify({
    tasks: TASKS,
    nodes: NODES,
    users: USERS,
    withoutQuotas: { ...without, placementsPerS: rate(without) },
    quotasNotBinding: { ...overhead, placementsPerS: rate(overhead) },
    quotasBinding: { ...withQuotas, placementsPerS: rate(withQuotas) },
    overheadRatio: Math.round((rate(overhead) / rate(without)) * 100) / 100,
  }),
);
