import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { defaultFairShareConfig, type FairShareConfig } from '../../../src/policy/index.js';
import {
  fairshare,
  fairshareProjection,
  type FairshareState,
} from '../../../src/projections/index.js';

/**
 * Issue 21 point 8: `drover fairshare` showed a user at dru 0.0002 ranked behind users at 0.25
 * and 0.5. The rank was the scheduler's (the position of the user's next waiting task in the
 * global queue) but the `dru` column was the user's share without that task, and users with
 * nothing waiting rank last whatever their share. The table now shows `nextDru`, the value that
 * ranks; this says rank order is ascending `nextDru` (global-front tasks first), users with
 * nothing waiting last by ascending `dru`, and those are behind nobody.
 */
const configArb: fc.Arbitrary<FairShareConfig> = fc.record({
  halfLifeS: fc.constantFrom(60, 3600, defaultFairShareConfig.halfLifeS),
  lambda: fc.constantFrom(0, 0.5, 1),
  weights: fc.constantFrom<FairShareConfig['weights']>({}, { u0: 2 }, { u1: { cpus: 3 } }),
});

const res = fc.record({
  cpus: fc.integer({ min: 0, max: 8 }),
  memMb: fc.integer({ min: 0, max: 4 }).map((x) => x * 1024),
  gpus: fc.integer({ min: 0, max: 1 }),
});
const users = ['u0', 'u1', 'u2', 'u3', 'root'];
const jobArb = fc.record({
  user: fc.constantFrom(...users),
  submittedAt: fc.integer({ min: 0, max: 5 }),
  priority: fc.integer({ min: 0, max: 2 }),
  request: res,
  chunks: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
});
const historyArb = fc.dictionary(
  fc.constantFrom(...users),
  res.map((r) => ({
    cpus: r.cpus * 3600,
    memMb: r.memMb * 3600,
    gpus: r.gpus * 3600,
  })),
);

/** A farm state as `fairshare` sees it: nodes, jobs with waiting or running chunks, history. */
function stateOf(
  jobs: {
    user: string;
    submittedAt: number;
    priority: number;
    request: { cpus: number; memMb: number; gpus: number };
    chunks: boolean[];
  }[],
  byUser: Record<string, { cpus: number; memMb: number; gpus: number }>,
  front: number,
): FairshareState {
  const s: FairshareState = {
    workers: new Map(),
    history: { refAt: 0, byUser },
    jobs: new Map(),
    chunks: new Map(),
    nodes: new Map([['n0', { capacity: { cpus: 16, memMb: 32768, gpus: 2 }, up: true }]]),
    facts: new Map(),
    policy: fairshareProjection.initial().policy,
  };
  jobs.forEach((j, i) => {
    const id = `j${i + 1}`;
    s.jobs.set(id, {
      ...{
        user: j.user,
        pool: 'default',
        submittedAt: j.submittedAt,
        order: i,
        priority: j.priority,
      },
      ...{ globalFront: i === front, request: j.request, labels: {}, excludeNodes: [] },
    });
    j.chunks.forEach((running, k) =>
      s.chunks.set(`${id}:${k}`, running ? { running, node: 'n0' } : { running }),
    );
  });
  return s;
}

describe('fairshare: the rank follows the value shown as what ranks', () => {
  test.prop(
    [fc.array(jobArb, { maxLength: 12 }), historyArb, fc.integer({ min: -1, max: 12 }), configArb],
    { numRuns: 200 },
  )(
    'rank order is ascending nextDru, then idle users by dru',
    (jobs, history, frontJob, config) => {
      const s = stateOf(jobs, history, frontJob);
      const rows = fairshare(s, { now: 0, config });
      const front = new Set(
        jobs.filter((j, i) => i === frontJob && j.chunks.some((r) => !r)).map((j) => j.user),
      );
      expect(rows.map((r) => r.rank)).toEqual(rows.map((_, i) => i + 1));
      const waiting = rows.filter((r) => r.nextDru !== null);
      const idle = rows.filter((r) => r.nextDru === null);
      // Users with something waiting first, then the idle ones.
      expect(rows.slice(0, waiting.length)).toEqual(waiting);
      for (const r of idle) {
        expect(r.pending).toBe(0);
        expect(r.ahead).toEqual([]);
      }
      for (let i = 1; i < idle.length; i++) {
        const [a, b] = [idle[i - 1]!, idle[i]!];
        expect(
          a.dru < b.dru || (a.dru === b.dru && a.user < b.user),
          `${a.user} before ${b.user}`,
        ).toBe(true);
      }
      for (let i = 1; i < waiting.length; i++) {
        const [a, b] = [waiting[i - 1]!, waiting[i]!];
        if (front.has(a.user) !== front.has(b.user)) {
          expect(front.has(a.user), `${a.user} (front) before ${b.user}`).toBe(true);
          continue;
        }
        expect(a.nextDru!, `${a.user} ranked before ${b.user}`).toBeLessThanOrEqual(b.nextDru!);
      }
      for (const r of waiting) {
        expect(r.pending).toBeGreaterThan(0);
        for (const a of r.ahead)
          expect(rows.findIndex((x) => x.user === a.user)).toBeLessThan(r.rank - 1);
      }
    },
  );
});
