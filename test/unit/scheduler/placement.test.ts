import { describe, expect, it } from 'vitest';
import { placeRound, type NodeState, type Ranked, type Task } from '../../../src/policy/index.js';
import { node, task, vec } from '../../support/policy-arbitraries.js';

/** Ranks tasks in the given order (dru = rank / 10), as `queueOrder` would hand them over. */
const rank = (...tasks: Task[]): Ranked[] =>
  tasks.map((t, i) => ({ task: t, dru: i / 10, rank: i }));
const placed = (ranked: Ranked[], nodes: NodeState[], now = 0) =>
  placeRound(ranked, nodes, now).placements.map((p) => [p.task.id, p.node]);

describe('placeRound: where tasks go', () => {
  it('gives nothing to registering, draining, drained, cordoned, lost or offline nodes', () => {
    const states = ['registering', 'draining', 'drained', 'cordoned', 'lost', 'offline'] as const;
    const nodes = states.map((state) => node({ id: state, state }));
    const r = placeRound(rank(task()), nodes, 0);
    expect(r.placements).toEqual([]);
    expect(r.waiting.get('J:0')?.map((x) => x.code)).toEqual(['Resources']);
  });

  it('spreads load: lowest max-dimension utilisation after placing, ties to the lowest id', () => {
    const nodes = [
      node({ id: 'c', capacity: vec(8, 8192) }),
      node({ id: 'b', capacity: vec(8, 8192), used: vec(1, 0) }),
      node({ id: 'a', capacity: vec(8, 8192), used: vec(0, 2048) }),
    ];
    const ts = [0, 1, 2].map((index) => task({ index, request: vec(1, 1024) }));
    expect(placed(rank(...ts), nodes)).toEqual([
      ['J:0', 'c'],
      ['J:1', 'b'],
      ['J:2', 'c'],
    ]);
  });

  it('never places more than the free capacity, and backfills smaller tasks', () => {
    const nodes = [node({ id: 'n1', capacity: vec(4, 8192) })];
    const big = task({ jobId: 'big', request: vec(4, 1024) });
    const small = task({ jobId: 'small', request: vec(1, 1024) });
    const fill = task({ jobId: 'fill', request: vec(3, 1024) });
    const r = placeRound(rank(fill, big, small), nodes, 0);
    expect(r.placements.map((p) => p.task.id)).toEqual(['fill:0', 'small:0']);
    expect(r.waiting.has('big:0')).toBe(true);
  });

  it('honours label constraints and exclusions', () => {
    const nodes = [
      node({ id: 'n1', labels: { zone: 'a' } }),
      node({ id: 'n2', labels: { zone: 'b', gpu: 'yes' } }),
      node({ id: 'n3', labels: { zone: 'b' } }),
    ];
    const t1 = task({ jobId: 'L', labels: { zone: 'b' }, excludeNodes: ['n2'] });
    const t2 = task({ jobId: 'G', labels: { gpu: 'yes' } });
    expect(placed(rank(t1, t2), nodes)).toEqual([
      ['L:0', 'n3'],
      ['G:0', 'n2'],
    ]);
  });

  it('avoids nodes of earlier node-related failures, unless nothing else fits', () => {
    const nodes = [node({ id: 'n1' }), node({ id: 'n2', used: vec(7.5, 0) })];
    const avoids = task({ jobId: 'A', avoidNodes: ['n1'] });
    const r = placeRound(rank(avoids), nodes, 0);
    expect(r.placements.map((p) => p.node)).toEqual(['n1']);
    expect(r.placements[0]!.skipped).toContainEqual({ node: 'n2', reason: 'full' });
    const roomy = [node({ id: 'n1' }), node({ id: 'n2', used: vec(6, 0) })];
    const r2 = placeRound(rank(avoids), roomy, 0);
    expect(r2.placements.map((p) => [p.node, p.skipped])).toEqual([
      ['n2', [{ node: 'n1', reason: 'avoided' }]],
    ]);
  });

  it('skips running tasks and tasks in backoff, and stops at maxPlacements', () => {
    const nodes = [node({ id: 'n1' })];
    const running = task({ jobId: 'R', running: true, node: 'n1' });
    const later = task({ jobId: 'B', notBefore: 100 });
    const ts = [running, later, task({ jobId: 'X' }), task({ jobId: 'Y' }), task({ jobId: 'Z' })];
    const r = placeRound(rank(...ts), nodes, 50, { maxPlacements: 2 });
    expect(r.placements.map((p) => p.task.id)).toEqual(['X:0', 'Y:0']);
    expect([...r.waiting.keys()]).toEqual(['B:0']);
    expect(placeRound(rank(later), nodes, 100).placements).toHaveLength(1);
  });

  it('keeps dru and rank, lists skipped nodes and does not mutate its inputs', () => {
    const nodes = [node({ id: 'n1', capacity: vec(1, 1024) }), node({ id: 'n2', state: 'lost' })];
    const ranked = rank(task({ request: vec(1, 512) }), task({ jobId: 'K', request: vec(1, 512) }));
    const copy = structuredClone({ nodes, ranked });
    const r = placeRound(ranked, nodes, 0);
    expect(r.placements).toEqual([
      {
        task: ranked[0]!.task,
        node: 'n1',
        dru: 0,
        rank: 0,
        skipped: [{ node: 'n2', reason: 'not_ready' }],
      },
    ]);
    expect({ nodes, ranked }).toEqual(copy);
    const fast = placeRound(ranked, nodes, 0, { reasons: false });
    expect(fast.placements[0]!.skipped).toEqual([]);
    expect(fast.waiting.get('K:0')).toEqual([]);
  });

  it('handles fractional cpus without losing the last slot to rounding', () => {
    const ts = Array.from({ length: 10 }, (_, index) => task({ index, request: vec(0.1, 1) }));
    const r = placeRound(rank(...ts), [node({ id: 'n1', capacity: vec(1, 10) })], 0);
    expect(r.placements).toHaveLength(10);
  });
});
