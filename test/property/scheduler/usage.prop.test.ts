import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { addUsage, emptyHistory, historyAt, type UsageHistory } from '../../../src/policy/index.js';

const T0 = 1_700_000_000_000;
const factArb = fc.record({
  user: fc.constantFrom('ann', 'bob', 'cy', '__proto__'),
  at: fc.integer({ min: T0, max: T0 + 10 * 86_400_000 }),
  rs: fc.record({
    cpus: fc.double({ min: 0, max: 1e7, noNaN: true }),
    memMb: fc.double({ min: 0, max: 1e10, noNaN: true }),
    gpus: fc.double({ min: 0, max: 1e5, noNaN: true }),
  }),
});
const factsArb = fc
  .array(factArb, { maxLength: 30 })
  .chain((fs) => fc.tuple(fc.constant(fs), fc.shuffledSubarray(fs, { minLength: fs.length })));

describe('usage history properties', () => {
  test.prop([factsArb, fc.constantFrom(3600, 86_400, 7 * 86_400), fc.nat(30 * 86_400_000)], {
    numRuns: 300,
  })(
    'adding usages in any order gives the same history later (float tolerance)',
    ([facts, shuffled], halfLifeS, later) => {
      const fold = (fs: typeof facts): UsageHistory =>
        fs.reduce((h, f) => addUsage(h, f.user, f.at, f.rs, halfLifeS), emptyHistory());
      const [a, b] = [fold(facts), fold(shuffled)];
      const now = T0 + 10 * 86_400_000 + later;
      for (const user of ['ann', 'bob', 'cy', '__proto__', 'dee']) {
        const [x, y] = [historyAt(a, user, now, halfLifeS), historyAt(b, user, now, halfLifeS)];
        for (const r of ['cpus', 'memMb', 'gpus'] as const) {
          expect(Math.abs(x[r] - y[r])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(x[r])));
        }
      }
    },
  );
});
