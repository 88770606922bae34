import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type NodeState,
  type Ranked,
  type Task,
} from '../../../src/policy/index.js';
import { node, nodesArb, tasksArb, vec } from '../../support/policy-arbitraries.js';

const R = ['cpus', 'memMb', 'gpus'] as const;

/**
 * The placement rules as a plain linear scan: the specification `placeRound`'s search trees
 * must agree with exactly (same float formula: `used / cap + q / cap` as `used·inv + q·inv`).
 */
function referencePlacements(ranked: readonly Ranked[], nodes: readonly NodeState[], now: number) {
  const ready = nodes
    .filter((n) => n.state === 'ready')
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((n) => ({ n, used: { ...n.used } }));
  const inv = (c: number) => (c > 0 ? 1 / c : 0);
  const out: [string, string][] = [];
  for (const { task: t } of ranked) {
    if (t.running || (t.notBefore !== undefined && t.notBefore > now)) continue;
    const fits = ready.filter(
      ({ n, used }) =>
        Object.entries(t.labels).every(
          ([k, v]) => Object.hasOwn(n.labels, k) && n.labels[k] === v,
        ) &&
        !t.excludeNodes.includes(n.id) &&
        R.every((r) => t.request[r] <= n.capacity[r] - used[r] + 1e-9),
    );
    const preferred = fits.filter(({ n }) => !t.avoidNodes.includes(n.id));
    const pool = preferred.length > 0 ? preferred : fits;
    let best: (typeof ready)[number] | undefined;
    let bestU = Infinity;
    for (const c of pool) {
      const u = Math.max(
        ...R.map((r) => c.used[r] * inv(c.n.capacity[r]) + t.request[r] * inv(c.n.capacity[r])),
      );
      if (u < bestU) [best, bestU] = [c, u];
    }
    if (!best) continue;
    for (const r of R) best.used[r] += t.request[r];
    out.push([t.id, best.n.id]);
  }
  return out;
}

const rankAll = (tasks: readonly Task[]) =>
  queueOrder(tasks, {
    capacity: vec(64, 262_144, 8),
    history: () => vec(0, 0, 0),
    config: defaultFairShareConfig,
  });

/** Farms of 1..60 nodes, of few sizes or of many (past the one-tree-per-size limit). */
const farmArb = fc.oneof(
  nodesArb,
  fc
    .tuple(
      fc.integer({ min: 1, max: 60 }),
      fc.boolean(),
      fc.array(fc.nat(), { minLength: 240, maxLength: 240 }),
    )
    .map(([n, varied, seeds]) =>
      Array.from({ length: n }, (_, i) => {
        const s = (k: number) => seeds[(4 * i + k) % seeds.length]!;
        const cpus = varied ? 1 + (s(0) % 64) : [8, 16][s(0) % 2]!;
        const capacity = vec(cpus, [8192, 65_536][s(1) % 2]!, s(2) % 3);
        const share = (s(3) % 5) / 4;
        return node({
          id: `n${String(i).padStart(2, '0')}`,
          state: s(3) % 9 === 0 ? 'draining' : 'ready',
          capacity,
          used: vec(capacity.cpus * share, capacity.memMb * share, 0),
          labels: s(1) % 3 === 0 ? { zone: 'a' } : {},
        });
      }),
    ),
);
const manyTasksArb = fc
  .array(tasksArb, { minLength: 1, maxLength: 5 })
  .map((lists) => lists.flatMap((ts, k) => ts.map((t) => ({ ...t, id: `${k}/${t.id}` }))));

describe('placeRound agrees with a linear-scan reference', () => {
  test.prop([manyTasksArb, farmArb, fc.integer({ min: 0, max: 20 })], { numRuns: 400 })(
    'same task on the same node, in the same order',
    (tasks, nodes, now) => {
      const ranked = rankAll(tasks);
      const got = placeRound(ranked, nodes, now, { reasons: false }).placements;
      expect(got.map((p) => [p.task.id, p.node])).toEqual(referencePlacements(ranked, nodes, now));
    },
  );
});
