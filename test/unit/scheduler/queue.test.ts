import { describe, expect, it } from 'vitest';
import {
  compareWithinUser,
  defaultFairShareConfig,
  queueOrder,
  weightOf,
  type FairShareConfig,
  type ResourceVector,
  type Task,
} from '../../../src/policy/index.js';
import { chunks, task, vec } from '../../support/policy-arbitraries.js';

const none = () => vec(0, 0, 0);
const ctx = (
  capacity: ResourceVector,
  config: Partial<FairShareConfig> = {},
  history: (u: string) => ResourceVector = none,
) => ({ capacity, history, config: { ...defaultFairShareConfig, ...config } });
const ids = (tasks: readonly { task: Task }[]) => tasks.map((r) => r.task.id);

describe('queueOrder: dru', () => {
  it('computes dru on a worked example (running sums, history, horizon, weights)', () => {
    // C = 100 cpus, 1000 MB, 10 gpus. ann: weight 2; history 36 000 cpu-s over a 3 600 s
    // horizon = 10 cpus, λ = 0.5 -> base 5 cpus. Tasks: 10 cpus/100 MB, then 2 gpus.
    const c = ctx(
      vec(100, 1000, 10),
      { halfLifeS: 7200, horizonS: 3600, lambda: 0.5, weights: { ann: 2 } },
      (u) => (u === 'ann' ? vec(36_000, 0, 0) : none()),
    );
    const t1 = task({ jobId: 'A', index: 0, request: vec(10, 100, 0) });
    const t2 = task({ jobId: 'A', index: 1, request: vec(0.5, 100, 2) });
    const [r1, r2] = queueOrder([t2, t1], c);
    // t1: max((10 + 5) / 200, 100 / 2000, 0) = 0.075
    expect(r1).toEqual({ task: t1, dru: 0.075, rank: 0 });
    // t2: max((10.5 + 5) / 200, 200 / 2000, 2 / 20) = 0.1
    expect(r2).toEqual({ task: t2, dru: 0.1, rank: 1 });
  });

  it('skips resources with zero farm capacity and uses per-resource weights', () => {
    const c = ctx(vec(10, 1000, 0), { weights: { ann: { memMb: 4 } } });
    const [r] = queueOrder([task({ request: vec(1, 800, 1) })], c);
    expect(r!.dru).toBe(0.2); // cpus 1/10 = 0.1, mem 800/(4·1000) = 0.2, gpus skipped
    expect(weightOf(c.config, 'ann')).toEqual(vec(1, 4, 1));
    expect(weightOf(c.config, 'toString')).toEqual(vec(1, 1, 1));
  });

  it('ignores history when λ = 0 (instantaneous DRU)', () => {
    const c = ctx(vec(10, 100_000, 0), { lambda: 0 }, () => vec(1e9, 1e9, 0));
    expect(queueOrder([task()], c)[0]!.dru).toBe(0.1);
  });
});

describe('queueOrder: order', () => {
  it('merges users by ascending dru with ties to earlier submission', () => {
    const ann = chunks(3, { jobId: 'A', user: 'ann', submittedAt: 5 });
    const bob = chunks(3, { jobId: 'B', user: 'bob', submittedAt: 1, order: 0 });
    const order = ids(queueOrder([...ann, ...bob], ctx(vec(10, 100_000))));
    expect(order).toEqual(['B:0', 'A:0', 'B:1', 'A:1', 'B:2', 'A:2']);
  });

  it("keeps each user's own order: priority, running, partial, submission, order, index", () => {
    const base = { user: 'ann', request: vec(1, 1) };
    const ts = [
      task({ ...base, jobId: 'late', submittedAt: 9, order: 9 }),
      task({ ...base, jobId: 'fresh', index: 0, submittedAt: 2, order: 2 }),
      task({ ...base, jobId: 'fresh', index: 1, submittedAt: 2, order: 2, partial: true }),
      task({ ...base, jobId: 'run', running: true, submittedAt: 8, order: 8 }),
      task({ ...base, jobId: 'high', priority: 10, submittedAt: 9, order: 10 }),
      task({ ...base, jobId: 'front', globalFront: true, priority: -5, order: 11 }),
    ];
    const order = ids(queueOrder(ts, ctx(vec(10, 100))));
    expect(order).toEqual(['front:0', 'high:0', 'run:0', 'fresh:1', 'fresh:0', 'late:0']);
    expect([...ts].sort(compareWithinUser).map((t) => t.id)).toEqual(order);
  });

  it('puts global-front tasks ahead of every user', () => {
    const ann = chunks(2, { jobId: 'A', user: 'ann' });
    const bob = task({ jobId: 'B', user: 'bob', globalFront: true, request: vec(5, 1) });
    const order = ids(
      queueOrder(
        [...ann, bob],
        ctx(vec(10, 100_000), {}, () => vec(1, 0, 0)),
      ),
    );
    expect(order).toEqual(['B:0', 'A:0', 'A:1']);
  });

  it('lets a fresh user pass one with recent history', () => {
    const ann = chunks(2, { jobId: 'A', user: 'ann', submittedAt: 0, order: 0 });
    const bob = chunks(2, { jobId: 'B', user: 'bob', submittedAt: 9, order: 9 });
    const history = (u: string) => (u === 'ann' ? vec(86_400 * 5, 0, 0) : none());
    const order = ids(queueOrder([...ann, ...bob], ctx(vec(10, 100_000), {}, history)));
    expect(order).toEqual(['B:0', 'B:1', 'A:0', 'A:1']);
  });

  it('ranks the empty queue as empty', () => {
    expect(queueOrder([], ctx(vec(1, 1)))).toEqual([]);
  });
});
