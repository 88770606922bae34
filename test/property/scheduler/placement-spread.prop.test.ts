import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type Task,
} from '../../../src/policy/index.js';
import { chunks, node, nodesArb, tasksArb, task, vec } from '../../support/policy-arbitraries.js';

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

describe('spread placement (one chunk of a job per node)', () => {
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

  test.prop([spreadJobArb, nodesArb], { numRuns: 300 })(
    'a spread job takes as many distinct ready nodes as fit it, up to its chunks',
    (job, nodes) => {
      const spread = spreadTasks(job);
      const { placements } = placeRound(rankAll(spread), nodes, 0);
      const fits = nodes.filter(
        (n) =>
          n.state === 'ready' &&
          !(job.running as readonly string[]).includes(n.id) &&
          n.capacity.cpus - n.used.cpus >= job.cpus - 1e-9 &&
          n.capacity.memMb - n.used.memMb >= 512,
      ).length;
      expect(placements.length).toBe(Math.min(job.chunks, fits));
    },
  );

  it('waits rather than doubling up on the one node with room, with an Excluded reason', () => {
    const nodes = [node({ id: 'n1' }), node({ id: 'n2', used: vec(8, 0) })];
    const tasks = chunks(2, { jobId: 'a', request: vec(1, 512), spread: true });
    const { placements, waiting } = placeRound(rankAll(tasks), nodes, 0);
    expect(placements.map((p) => [p.task.id, p.node])).toEqual([['a:0', 'n1']]);
    const reasons = waiting.get('a:1')!.map((r) => r.code);
    expect(reasons).toContain('Excluded');
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
