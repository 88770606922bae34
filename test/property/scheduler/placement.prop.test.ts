import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type NodeState,
  type Task,
} from '../../../src/policy/index.js';
import { nodesArb, tasksArb, vec } from '../../support/policy-arbitraries.js';

const rankAll = (tasks: readonly Task[]) =>
  queueOrder(tasks, {
    capacity: vec(64, 262_144, 8),
    history: () => vec(0, 0, 0),
    config: defaultFairShareConfig,
  });
const nowArb = fc.integer({ min: 0, max: 20 });

describe('placeRound properties', () => {
  test.prop([tasksArb, nodesArb, nowArb], { numRuns: 400 })(
    'placements never exceed any node capacity',
    (tasks, nodes, now) => {
      const { placements } = placeRound(rankAll(tasks), nodes, now);
      for (const n of nodes) {
        const on = placements.filter((p) => p.node === n.id).map((p) => p.task.request);
        for (const r of ['cpus', 'memMb', 'gpus'] as const) {
          const sum = on.reduce((s, q) => s + q[r], n.used[r]);
          if (on.length > 0) expect(sum).toBeLessThanOrEqual(n.capacity[r] + 1e-6);
        }
      }
    },
  );

  test.prop([tasksArb, nodesArb, nowArb], { numRuns: 400 })(
    'no placement on a non-ready node, nor against labels, exclusions or backoff',
    (tasks, nodes, now) => {
      const byId = new Map(nodes.map((n) => [n.id, n]));
      const { placements } = placeRound(rankAll(tasks), nodes, now);
      for (const { task: t, node } of placements) {
        const n: NodeState = byId.get(node)!;
        expect(n.state).toBe('ready');
        expect(t.excludeNodes).not.toContain(node);
        expect(t.running).toBe(false);
        expect(t.notBefore === undefined || t.notBefore <= now).toBe(true);
        for (const [k, v] of Object.entries(t.labels)) expect(n.labels[k]).toBe(v);
      }
    },
  );

  test.prop([tasksArb, nodesArb, nowArb], { numRuns: 300 })(
    'every waiting task is placed or has at least one reason; the fast path decides the same',
    (tasks, nodes, now) => {
      const ranked = rankAll(tasks);
      const full = placeRound(ranked, nodes, now);
      const fast = placeRound(ranked, nodes, now, { reasons: false });
      const placed = full.placements.map((p) => [p.task.id, p.node]);
      expect(fast.placements.map((p) => [p.task.id, p.node])).toEqual(placed);
      expect([...fast.waiting.keys()]).toEqual([...full.waiting.keys()]);
      const waiting = tasks.filter((t) => !t.running).length;
      expect(full.placements.length + full.waiting.size).toBe(waiting);
      for (const reasons of full.waiting.values()) expect(reasons.length).toBeGreaterThan(0);
      for (const p of full.placements) expect(p.skipped.length).toBeLessThanOrEqual(8);
    },
  );

  test.prop(
    [
      tasksArb,
      nodesArb.chain((ns) =>
        fc.tuple(fc.constant(ns), fc.shuffledSubarray(ns, { minLength: ns.length })),
      ),
      nowArb,
    ],
    { numRuns: 300 },
  )(
    'placement is a pure function of its inputs, whatever the node order',
    (tasks, [nodes, shuffled], now) => {
      const ranked = rankAll(tasks);
      const copy = structuredClone({ ranked, nodes });
      const a = placeRound(ranked, nodes, now);
      expect(placeRound(ranked, nodes, now)).toEqual(a);
      const b = placeRound(ranked, shuffled, now);
      expect(b.placements.map((p) => [p.task.id, p.node])).toEqual(
        a.placements.map((p) => [p.task.id, p.node]),
      );
      expect({ ranked, nodes }).toEqual(copy);
    },
  );
});
