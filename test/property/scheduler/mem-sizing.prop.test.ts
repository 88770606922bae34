import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  DEFAULT_MEM_RULE,
  decideMemAuto,
  runsConsidered,
  type MemRule,
  type PeakRun,
} from '../../../src/policy/index.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const runArb: fc.Arbitrary<PeakRun> = fc.record({
  worker: fc.tuple(fc.nat(50), fc.nat(3)).map(([j, a]) => `j${j}:0:${a + 1}`),
  // Some runs outside the window (older than 30 days) and a few after `now`.
  at: fc.integer({ min: NOW - 45 * DAY, max: NOW + DAY }),
  peakMb: fc.double({ min: 0, max: 200_000, noNaN: true }),
  cause: fc.constantFrom('Succeeded', 'OutOfMemory', 'ExitNonZero', 'TimeLimit'),
});
const historyArb = fc.array(runArb, { maxLength: 60 });
const ruleArb: fc.Arbitrary<MemRule> = fc.record({
  windowDays: fc.integer({ min: 1, max: 60 }),
  lastRuns: fc.integer({ min: 1, max: 30 }),
  headroom: fc.double({ min: 1, max: 3, noNaN: true }),
  stepMb: fc.constantFrom(1, 64, 256),
});
const fallback = { memMb: 768, from: 'submit default' as const };
const inWindow = (r: PeakRun, rule: MemRule) => r.at >= NOW - rule.windowDays * DAY && r.at <= NOW;

describe('--mem auto (decideMemAuto) properties', () => {
  test.prop([historyArb, ruleArb], { numRuns: 400 })(
    'never below the largest OOM-killed peak of the window, nor below any run it considered',
    (history, rule) => {
      const d = decideMemAuto({ name: 'etl', now: NOW, history, fallback, rule });
      const ooms = history.filter((r) => r.cause === 'OutOfMemory' && inWindow(r, rule));
      for (const r of ooms) expect(d.memMb).toBeGreaterThanOrEqual(r.peakMb);
      for (const r of d.runs) expect(d.memMb).toBeGreaterThanOrEqual(r.peakMb);
      expect(d.memMb % rule.stepMb).toBe(0);
    },
  );

  test.prop([historyArb, ruleArb, fc.double({ min: 1, max: 3, noNaN: true })], { numRuns: 400 })(
    'monotone in the headroom',
    (history, rule, other) => {
      const [lo, hi] = [Math.min(rule.headroom, other), Math.max(rule.headroom, other)];
      const at = (headroom: number) =>
        decideMemAuto({ name: 'etl', now: NOW, history, fallback, rule: { ...rule, headroom } })
          .memMb;
      expect(at(lo)).toBeLessThanOrEqual(at(hi));
    },
  );

  test.prop([historyArb, ruleArb], { numRuns: 400 })(
    'falls back exactly when no run is in the window, and says so',
    (history, rule) => {
      const d = decideMemAuto({ name: 'etl', now: NOW, history, fallback, rule });
      const any = history.some((r) => inWindow(r, rule));
      expect(d.source).toBe(any ? 'history' : 'fallback');
      if (!any) {
        expect(d).toMatchObject({ memMb: 768, fallback: 'submit default', runs: [] });
        expect(d.message).toMatch(
          /no run of "etl" in the last \d+ days: 768 MB, the submit default/,
        );
      } else {
        expect(d.peakMb).toBe(Math.max(...d.runs.map((r) => r.peakMb)));
        expect(d.runs.map((r) => r.worker)).toContain(d.peakWorker);
      }
    },
  );

  test.prop([historyArb, ruleArb], { numRuns: 300 })(
    'considers at most the last N runs of the window plus its largest OOM kill, in the window only',
    (history, rule) => {
      const runs = runsConsidered(history, NOW, rule);
      expect(runs.length).toBeLessThanOrEqual(rule.lastRuns + 1);
      for (const r of runs) expect(inWindow(r, rule)).toBe(true);
      // The order history arrives in does not matter.
      expect(
        runsConsidered([...history].reverse(), NOW, rule)
          .map((r) => r.peakMb)
          .sort(),
      ).toEqual(runs.map((r) => r.peakMb).sort());
    },
  );

  test('the built-in rule on an example: 1,000 MB killed for memory gives 1,216 MB', () => {
    const d = decideMemAuto({
      name: 'etl',
      now: NOW,
      history: [
        { worker: 'j1:0:1', at: NOW - DAY, peakMb: 1000, cause: 'OutOfMemory' },
        { worker: 'j2:0:1', at: NOW - 2 * DAY, peakMb: 300, cause: 'Succeeded' },
      ],
      fallback,
    });
    expect(d).toMatchObject({ memMb: 1216, source: 'history', peakMb: 1000, peakWorker: 'j1:0:1' });
    expect(d.rule).toEqual(DEFAULT_MEM_RULE);
    expect(d.message).toBe(
      '1216 MB = max peak 1000 MB (j1:0:1, killed for memory) of 2 run(s) of "etl" in the last 30 days, 1 killed for memory × 1.2, rounded up to 64 MB',
    );
  });
});
