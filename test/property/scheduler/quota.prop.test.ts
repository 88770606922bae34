import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  LAUNCH_WINDOW_MS,
  createQuotaGate,
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type QuotaLimitsOf,
  type ResourceVector,
  type Task,
} from '../../../src/policy/index.js';
import { nodesArb, tasksArb, vec } from '../../support/policy-arbitraries.js';

const rankAll = (tasks: readonly Task[]) =>
  queueOrder(tasks, {
    capacity: vec(64, 262_144, 8),
    history: () => vec(0, 0, 0),
    config: defaultFairShareConfig,
  });

const NOW = 1_000_000;
const USERS = ['ann', 'bob', 'cy', 'dee'];
const limitsArb: fc.Arbitrary<QuotaLimitsOf> = fc.record(
  {
    cpus: fc.constantFrom(0, 0.5, 1, 2, 3, 8),
    memMb: fc.constantFrom(0, 512, 2048, 8192),
    gpus: fc.constantFrom(0, 1, 2),
    launchesPerMin: fc.constantFrom(0, 1, 2, 5),
  },
  { requiredKeys: [] },
);
/** Per user: a quota (or none), what it already runs, and its launches of the last 2 minutes. */
const quotaSetupArb = fc.record({
  quotas: fc.dictionary(fc.constantFrom(...USERS), limitsArb, { maxKeys: 4 }),
  used: fc.dictionary(
    fc.constantFrom(...USERS),
    fc.record({
      cpus: fc.constantFrom(0, 0.5, 1, 4),
      memMb: fc.constantFrom(0, 256, 4096),
      gpus: fc.constantFrom(0, 1),
    }),
  ),
  launches: fc.dictionary(
    fc.constantFrom(...USERS),
    fc.array(fc.integer({ min: NOW - 2 * LAUNCH_WINDOW_MS, max: NOW }), { maxLength: 6 }),
  ),
});

const zero = (): ResourceVector => ({ cpus: 0, memMb: 0, gpus: 0 });

describe('quotas in a placement round (POLICY Quota)', () => {
  test.prop([tasksArb, nodesArb, quotaSetupArb, fc.boolean()], { numRuns: 400 })(
    'no user with a quota is placed past a limit in any round, and holds are Quota reasons',
    (tasks, nodes, setup, reasons) => {
      const used = new Map(Object.entries(setup.used));
      const launches = new Map(Object.entries(setup.launches));
      const gate = createQuotaGate({ quotas: setup.quotas, used, launches, now: NOW });
      const round = placeRound(rankAll(tasks), nodes, NOW, { gate, reasons });
      for (const [user, q] of Object.entries(setup.quotas)) {
        const mine = round.placements.filter((p) => p.task.user === user);
        const before = used.get(user) ?? zero();
        for (const r of ['cpus', 'memMb', 'gpus'] as const) {
          const max = q[r];
          if (max === undefined || mine.length === 0) continue;
          const after = mine.reduce((s, p) => s + p.task.request[r], before[r]);
          expect(after).toBeLessThanOrEqual(max + 1e-6);
        }
        if (q.launchesPerMin !== undefined) {
          const recent = (launches.get(user) ?? []).filter((t) => t > NOW - LAUNCH_WINDOW_MS);
          if (mine.length > 0)
            expect(recent.length + mine.length).toBeLessThanOrEqual(q.launchesPerMin);
        }
      }
      // Without quotas the gate changes nothing.
      if (Object.keys(setup.quotas).length === 0) {
        const free = placeRound(rankAll(tasks), nodes, NOW, { reasons });
        expect(round.placements).toEqual(free.placements);
      }
      if (reasons) {
        for (const [id, rs] of round.waiting) {
          if (rs.some((x) => x.code === 'Quota')) {
            const t = tasks.find((x) => x.id === id)!;
            expect(Object.hasOwn(setup.quotas, t.user)).toBe(true);
            expect(rs).toHaveLength(1);
          }
        }
      }
    },
  );
});
