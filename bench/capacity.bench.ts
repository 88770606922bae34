import { writeFile } from 'node:fs/promises';
import {
  DAY_MS,
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  reservationGate,
  type NodeState,
  type Reservation,
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
  const ranked = queueOrder(gated, {
    capacity,
    history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
    config: defaultFairShareConfig,
  });
  const out = placeRound(ranked, nodes, NOW, { reasons: true });
  if (gate) {
    for (const [id, reasons] of out.waiting) {
      const v = verdicts.get(id.slice(0, id.lastIndexOf(':')));
      if (v) gate.explain(v, reasons);
    }
  }
  const s = (performance.now() - t0) / 1000;
  return {
    placements: out.placements.length,
    perSec: Math.round(out.placements.length / s),
    ms: s * 1000,
  };
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
  const before = round(tasks, nodes, limits, []);
  const after = round(tasks, nodes, limits, rs);
  const pair = await paired(
    RUNS,
    async () => round(tasks, nodes, limits, []).perSec,
    async () => round(tasks, nodes, limits, rs).perSec,
  );
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    runs: RUNS,
    farm: { waitingTasks: tasks.length, nodes: nodes.length, users, reservations: rs.length },
    before: { placements: before.placements, placementsPerSec: pair.raw },
    after: { placements: after.placements, placementsPerSec: pair.ours },
    afterVsBefore: pair.ratio,
    afterVsBeforeRange: pair.range,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, json + '\n');
}

await main();
