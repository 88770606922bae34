import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  defaultFairShareConfig,
  queueOrder,
  type FairShareConfig,
  type Ranked,
  type ResourceVector,
  type Task,
} from '../../../src/policy/index.js';
import { task, tasksArb, vec } from '../../support/policy-arbitraries.js';

const CAP = vec(64, 262_144, 8);
const zero = () => vec(0, 0, 0);
const ctx = (
  config: Partial<FairShareConfig> = {},
  history: (u: string) => ResourceVector = zero,
) => ({
  capacity: CAP,
  history,
  config: { ...defaultFairShareConfig, ...config },
});
const shapeArb = fc.record({
  cpus: fc.integer({ min: 1, max: 16 }),
  memMb: fc.integer({ min: 1, max: 65_536 }),
  gpus: fc.integer({ min: 0, max: 2 }),
});
/** `n` tasks of `user` with one shape, over a few jobs submitted at random times. */
const userTasks = (user: string, shape: ResourceVector, n: number, times: number[]): Task[] =>
  Array.from({ length: n }, (_, index) => {
    const at = times[index % times.length]!;
    return task({
      jobId: `${user}-${at}`,
      index,
      user,
      request: shape,
      submittedAt: at,
      order: at,
    });
  });
const timesArb = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 4 });
const usersOf = (ranked: readonly Ranked[]) => ranked.map((r) => r.task.user);

/** Counts per user in each prefix of the queue, up to where one of them runs out. */
function prefixCounts(order: string[], a: string, b: string, na: number, nb: number) {
  const out: [number, number][] = [];
  let ca = 0;
  let cb = 0;
  for (const u of order) {
    if (u === a) ca++;
    else cb++;
    if (ca >= na || cb >= nb) break;
    out.push([ca, cb]);
  }
  return out;
}

describe('queueOrder properties (POLICY §1-3)', () => {
  test.prop(
    [
      shapeArb,
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 30 }),
      timesArb,
      timesArb,
    ],
    {
      numRuns: 300,
    },
  )('with equal weights and equal demand two users alternate', (shape, na, nb, ta, tb) => {
    const order = usersOf(
      queueOrder([...userTasks('ann', shape, na, ta), ...userTasks('bob', shape, nb, tb)], ctx()),
    );
    for (const [ca, cb] of prefixCounts(order, 'ann', 'bob', na, nb)) {
      expect(Math.abs(ca - cb)).toBeLessThanOrEqual(1);
    }
  });

  test.prop([shapeArb, timesArb, timesArb], { numRuns: 300 })(
    'with weights 2:1 and unlimited demand allocations converge to 2:1 within one task',
    (shape, ta, tb) => {
      const tasks = [...userTasks('ann', shape, 80, ta), ...userTasks('bob', shape, 80, tb)];
      const order = usersOf(queueOrder(tasks, ctx({ weights: { ann: 2, bob: 1 } })));
      const prefixes = prefixCounts(order, 'ann', 'bob', 80, 80);
      expect(prefixes.length).toBeGreaterThan(100);
      for (const [ca, cb] of prefixes) expect(Math.abs(ca / 2 - cb)).toBeLessThanOrEqual(1);
    },
  );

  test.prop(
    [
      fc.array(fc.tuple(fc.constantFrom('ann', 'bob', 'cy'), shapeArb), { maxLength: 60 }),
      fc.record({
        ann: fc.integer({ min: 1, max: 4 }),
        bob: fc.integer({ min: 1, max: 4 }),
        cy: fc.integer({ min: 1, max: 4 }),
      }),
    ],
    { numRuns: 200 },
  )('any prefix is within one task of every waiting user (weighted dru)', (rows, weights) => {
    const tasks = rows.map(([user, shape], index) =>
      task({ jobId: user, index, user, request: shape }),
    );
    const ranked = queueOrder(tasks, ctx({ weights }));
    const nextOf = new Map<string, number[]>();
    for (const r of ranked) nextOf.set(r.task.user, [...(nextOf.get(r.task.user) ?? []), r.dru]);
    const last = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const r of ranked) {
      last.set(r.task.user, r.dru);
      seen.set(r.task.user, (seen.get(r.task.user) ?? 0) + 1);
      for (const [v, drus] of nextOf) {
        const next = drus[seen.get(v) ?? 0];
        if (next !== undefined) expect(last.get(r.task.user)!).toBeLessThanOrEqual(next);
      }
    }
  });

  test.prop([tasksArb, fc.dictionary(fc.constantFrom('ann', 'bob', 'cy'), fc.nat(1e7))], {
    numRuns: 300,
  })("a user's own order is never inverted", (tasks, hist) => {
    const history = (u: string) => vec(Object.hasOwn(hist, u) ? hist[u]! : 0, 0, 0);
    const ranked = queueOrder(tasks, ctx({}, history));
    expect(ranked.map((r) => r.rank)).toEqual(ranked.map((_, i) => i));
    const key = (t: Task) => [
      t.globalFront ? 0 : 1,
      -t.priority,
      t.running ? 0 : 1,
      t.partial ? 0 : 1,
      t.submittedAt,
      t.order,
      t.index,
    ];
    const lastOf = new Map<string, Task>();
    for (const { task: t } of ranked) {
      const prev = lastOf.get(t.user);
      if (prev) {
        const [kp, kt] = [key(prev), key(t)];
        const i = kp.findIndex((x, j) => x !== kt[j]);
        if (i >= 0) expect(kp[i]!).toBeLessThan(kt[i]!);
      }
      lastOf.set(t.user, t);
    }
  });

  test.prop(
    [
      shapeArb,
      fc.integer({ min: 1, max: 10 }),
      fc.double({ min: 1.01, max: 1000, noNaN: true }),
      timesArb,
    ],
    { numRuns: 300 },
  )('a user with large recent history yields to a fresh user', (shape, n, factor, times) => {
    const ann = userTasks(
      'ann',
      shape,
      n,
      times.map(() => 0),
    );
    const bob = userTasks(
      'bob',
      shape,
      n,
      times.map((t) => t + 1),
    );
    const first = queueOrder(bob.slice(0, 1), ctx())[0]!.dru;
    // ann's history alone, over the horizon, is `factor` times bob's first task's share.
    const level = first * factor * Math.min(CAP.cpus, CAP.memMb);
    const history = (u: string) => (u === 'ann' ? vec(level * 86_400, level * 86_400, 0) : zero());
    const order = usersOf(queueOrder([...ann, ...bob], ctx({}, history)));
    expect(order[0]).toBe('bob');
    const more = (u: string) =>
      u === 'ann' ? vec(level * 2 * 86_400, level * 2 * 86_400, 0) : zero();
    const later = usersOf(queueOrder([...ann, ...bob], ctx({}, more)));
    expect(later.indexOf('ann')).toBeGreaterThanOrEqual(order.indexOf('ann'));
  });

  test.prop(
    [
      tasksArb.chain((ts) =>
        fc.tuple(fc.constant(ts), fc.shuffledSubarray(ts, { minLength: ts.length })),
      ),
      fc.dictionary(fc.constantFrom('ann', 'bob', 'cy'), fc.nat(1e7)),
      fc.constantFrom(0, 0.5, 1),
    ],
    { numRuns: 300 },
  )(
    'the order is a pure function of its inputs, whatever their order',
    ([tasks, shuffled], hist, lambda) => {
      const history = (u: string) => vec(Object.hasOwn(hist, u) ? hist[u]! : 0, 1000, 0);
      const c = ctx({ lambda, weights: { bob: 2, cy: { gpus: 3 } } }, history);
      const copy = structuredClone(tasks);
      const once = queueOrder(tasks, c);
      expect(queueOrder(tasks, c)).toEqual(once);
      expect(queueOrder(shuffled, c).map((r) => [r.task.id, r.dru])).toEqual(
        once.map((r) => [r.task.id, r.dru]),
      );
      expect(tasks).toEqual(copy);
    },
  );
});
