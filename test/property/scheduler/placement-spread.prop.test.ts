import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type Task,
} from '../../../src/policy/index.js';
import {
  chunks,
  node,
  nodesArb,
  tasksArb,
  task,
  vec,
} from '../../support/policy-arbitraries.js';

const rankAll = (tasks: readonly Task[]) =>
  queueOrder(tasks, {
    capacity: vec(64, 262_144, 8),
    history: () => vec(0, 0, 0),
    config: defaultFairShareConfig,
  });

/** A spread job (an allocation) of `n` chunks, some of them already running on given nodes. */
const spreadJobArb = fc.record({
  chunks: fc.integer({ min: 1, max: 8 }),
  running: fc.uniqueArray(fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5', 'n6'), { maxLength: 3 }),
  cpus: fc.constantFrom(0.5, 1, 2),
});

function spreadTasks(j: { chunks: number; running: string[]; cpus: number }): Task[] {
  const all = chunks(j.chunks + j.running.length, {
    jobId: 'alloc',
    user: 'ann',
    request: vec(j.cpus, 512),
    spread: true,
  });
  return all.map((t, i) => {
    const node = j.running[i];
    return node ? { ...t, running: true, node } : t;
  });
}

/** Several gangs (allocations of different users) competing for the same nodes. */
const gangsArb = fc.array(
  fc.record({
    chunks: fc.integer({ min: 1, max: 5 }),
    cpus: fc.constantFrom(0.5, 1, 2, 4, 8),
    user: fc.constantFrom('ann', 'bob', 'cy'),
  }),
  { minLength: 1, maxLength: 4 },
);

function gangTasks(gangs: readonly { chunks: number; cpus: number; user: string }[]): Task[] {
  return gangs.flatMap((g, k) =>
    chunks(g.chunks, {
      jobId: `gang${k}`,
      user: g.user,
      order: 100 + k,
      request: vec(g.cpus, 512),
      spread: true,
    }),
  );
}

describe('spread placement (one chunk of a job per node, all or nothing)', () => {
  test.prop([spreadJobArb, tasksArb, nodesArb], { numRuns: 400 })(
    'no two chunks of a spread job share a node, counting its running ones',
    (job, others, nodes) => {
      const spread = spreadTasks(job);
      const { placements, waiting } = placeRound(rankAll([...spread, ...others]), nodes, 0);
      const mine = placements.filter((p) => p.task.jobId === 'alloc').map((p) => p.node);
      const held = [...job.running, ...mine];
      expect(new Set(held).size).toBe(held.length);
      // Every chunk of it not placed waits (with a reason): never dropped, never doubled up.
      const waitingMine = [...waiting.keys()].filter((id) => id.startsWith('alloc:'));
      expect(mine.length + waitingMine.length).toBe(job.chunks);
      for (const id of waitingMine) expect(waiting.get(id)!.length).toBeGreaterThan(0);
    },
  );

  test.prop([gangsArb, tasksArb, nodesArb], { numRuns: 500 })(
    'a gang is placed whole in one round or not at all, on distinct nodes, within capacity',
    (gangs, others, nodes) => {
      const all = [...gangTasks(gangs), ...others];
      const { placements, waiting } = placeRound(rankAll(all), nodes, 0);
      gangs.forEach((g, k) => {
        const mine = placements.filter((p) => p.task.jobId === `gang${k}`);
        expect([0, g.chunks]).toContain(mine.length);
        expect(new Set(mine.map((p) => p.node)).size).toBe(mine.length);
        const waitingMine = [...waiting.keys()].filter((id) => id.startsWith(`gang${k}:`));
        expect(waitingMine.length).toBe(g.chunks - mine.length);
      });
      for (const n of nodes) {
        const here = placements.filter((p) => p.node === n.id);
        if (here.length > 0) expect(n.state).toBe('ready');
        for (const r of ['cpus', 'memMb', 'gpus'] as const) {
          const used = here.reduce((s, p) => s + p.task.request[r], n.used[r]);
          expect(used).toBeLessThanOrEqual(n.capacity[r] + 1e-9);
        }
      }
    },
  );

  test.prop([spreadJobArb, nodesArb], { numRuns: 300 })(
    'alone on the farm, a spread job takes a node per waiting chunk if that many fit, else none',
    (job, nodes) => {
      const spread = spreadTasks(job);
      const { placements, waiting } = placeRound(rankAll(spread), nodes, 0);
      const fits = nodes.filter(
        (n) =>
          n.state === 'ready' &&
          !(job.running as readonly string[]).includes(n.id) &&
          n.capacity.cpus - n.used.cpus >= job.cpus - 1e-9 &&
          n.capacity.memMb - n.used.memMb >= 512,
      ).length;
      expect(placements.length).toBe(fits >= job.chunks ? job.chunks : 0);
      // Waiting, each chunk says how many nodes fit of how many it asks.
      for (const reasons of waiting.values()) {
        const counted = reasons.find((r) => r.details?.nodesAsked !== undefined);
        expect(counted?.message).toContain(`${fits} of ${job.chunks} nodes fit now`);
        expect(counted?.details).toMatchObject({ nodesAsked: job.chunks, nodesFit: fits });
      }
    },
  );

  it('two allocations that each fit but not together: one holds all it asks, the other nothing', () => {
    // The deadlock recipe: placed chunk by chunk, a:0, b:0, a:1 and b:1 interleave by fair
    // share and each allocation holds half of what it needs.
    const nodes = [node({ id: 'n1' }), node({ id: 'n2' }), node({ id: 'n3' })];
    const a = chunks(2, { jobId: 'a', user: 'ann', request: vec(8, 512), spread: true });
    const b = chunks(2, { jobId: 'b', user: 'bob', order: 2, request: vec(8, 512), spread: true });
    const { placements, waiting } = placeRound(rankAll([...a, ...b]), nodes, 0);
    expect(placements.map((p) => p.task.id).sort()).toEqual(['a:0', 'a:1']);
    expect([...waiting.keys()].sort()).toEqual(['b:0', 'b:1']);
    const why = waiting.get('b:0')!.find((r) => r.code === 'Resources')!;
    expect(why.message).toMatch(/^1 of 2 nodes fit now/);
  });

  it('asks more nodes than the farm has: Unsatisfiable, counting them', () => {
    const nodes = [node({ id: 'n1' }), node({ id: 'n2' })];
    const tasks = chunks(3, { jobId: 'a', request: vec(1, 512), spread: true });
    const { placements, waiting } = placeRound(rankAll(tasks), nodes, 0);
    expect(placements).toEqual([]);
    const why = waiting.get('a:2')!;
    expect(why.map((r) => r.code)).toEqual(['Unsatisfiable']);
    expect(why[0]!.message).toMatch(/^2 of 3 nodes fit now: .* only 2 nodes could ever hold one/);
  });

  it('waits whole rather than doubling up on the one node with room, counting the nodes', () => {
    const nodes = [node({ id: 'n1' }), node({ id: 'n2', used: vec(8, 0) })];
    const tasks = chunks(2, { jobId: 'a', request: vec(1, 512), spread: true });
    const { placements, waiting } = placeRound(rankAll(tasks), nodes, 0);
    expect(placements).toEqual([]);
    const reasons = waiting.get('a:1')!;
    expect(reasons.map((r) => r.code)).toEqual(['Resources']);
    expect(reasons[0]!.message).toMatch(/^1 of 2 nodes fit now/);
    expect(waiting.get('a:0')).toEqual(reasons);
    // Without spread both chunks land on n1.
    const plain = chunks(2, { jobId: 'b', request: vec(1, 512) });
    expect(placeRound(rankAll(plain), nodes, 0).placements.map((p) => p.node)).toEqual([
      'n1',
      'n1',
    ]);
  });

  it('a running chunk keeps its node from the job, not from other jobs', () => {
    const nodes = [node({ id: 'n1' })];
    const running = task({ jobId: 'a', index: 0, running: true, node: 'n1', spread: true });
    const next = task({ jobId: 'a', index: 1, spread: true });
    const other = task({ jobId: 'c', index: 0, spread: true });
    const { placements } = placeRound(rankAll([running, next, other]), nodes, 0);
    expect(placements.map((p) => p.task.id)).toEqual(['c:0']);
  });
});
