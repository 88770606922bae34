import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { Workflow } from '../../../src/events/index.js';
import { nextFires } from '../../../src/policy/calendar/index.js';
import { dueRuns, type RunFact } from '../../../src/policy/pipeline/index.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2016, 2, 1);
const cronArb = fc.constantFrom('0 6 * * 1-5', '30 2 * * *', '0 */4 * * *', '15 9,16 * * 1-5');
const zoneArb = fc.constantFrom('America/New_York', 'Europe/London', 'UTC', 'Asia/Kolkata');

const workflowOf = (
  cron: string,
  timezone: string,
  catchup: 'all' | 'latest' | 'none',
): Workflow => ({
  name: 'w',
  schedule: { cron, timezone, catchup, dependsOnPast: false, overlap: 'allow' },
  tasks: [{ id: 'a', after: [], trigger: 'all_success' }],
  notify: [],
});

/** Tick the timekeeper at `times` (ascending), recording what it creates as runs that end at once. */
function simulate(w: Workflow, times: readonly number[], graceMs: number): RunFact[] {
  const runs: RunFact[] = [];
  for (const now of times) {
    for (const r of dueRuns(
      { name: 'w', version: 1, workflow: w, since: T0, paused: false },
      undefined,
      now,
      runs,
      graceMs,
    ))
      runs.push({
        date: r.date,
        trigger: 'schedule',
        fireAt: r.fireAt,
        state: r.skip ? 'skipped' : 'succeeded',
      });
  }
  return runs;
}

const ticksArb = fc
  .array(fc.integer({ min: 1, max: 60 * HOUR }), { minLength: 1, maxLength: 40 })
  .map((steps) =>
    steps.reduce<number[]>((acc, s) => [...acc, (acc[acc.length - 1] ?? T0) + s], []),
  );

describe('the timekeeper (pure, time passed in)', () => {
  test.prop([cronArb, zoneArb, ticksArb], { numRuns: 30 })(
    'however the ticks fall (a failover, a long downtime), every fire is a run once, in order',
    (cron, zone, times) => {
      const w = workflowOf(cron, zone, 'all');
      const runs = simulate(w, times, 5 * 60_000);
      const end = times[times.length - 1]!;
      const expected = nextFires({ cron, timezone: zone }, undefined, T0, 1000).filter(
        (f) => f.at <= end,
      );
      expect(runs.map((r) => r.fireAt)).toEqual(expected.map((f) => f.at));
      expect(runs.every((r) => r.state === 'succeeded')).toBe(true);
      expect(new Set(runs.map((r) => r.date)).size).toBe(runs.length);
    },
  );

  test.prop([cronArb, zoneArb, ticksArb, fc.constantFrom('latest' as const, 'none' as const)], {
    numRuns: 30,
  })(
    'catch-up latest fires only the last missed fire of a gap, none fires none; the rest is skipped, never lost',
    (cron, zone, times, catchup) => {
      const grace = 60_000;
      const w = workflowOf(cron, zone, catchup);
      const runs = simulate(w, times, grace);
      const end = times[times.length - 1]!;
      const expected = nextFires({ cron, timezone: zone }, undefined, T0, 1000).filter(
        (f) => f.at <= end,
      );
      expect(runs.map((r) => r.fireAt)).toEqual(expected.map((f) => f.at));
      // Each tick fires at most one missed run under latest and none under none.
      let i = 0;
      for (const now of times) {
        const at = runs.filter((r) => r.fireAt <= now).slice(i);
        i += at.length;
        const fired = at.filter((r) => r.state !== 'skipped' && r.fireAt < now - grace);
        expect(fired.length).toBeLessThanOrEqual(catchup === 'latest' ? 1 : 0);
        if (catchup === 'latest' && at.length) expect(at[at.length - 1]?.state).toBe('succeeded');
      }
    },
  );

  test.prop([cronArb, fc.integer({ min: 1, max: 200 * HOUR })])(
    'a paused workflow fires nothing',
    (cron, after) => {
      const w = workflowOf(cron, 'UTC', 'all');
      expect(
        dueRuns(
          { name: 'w', version: 1, workflow: w, since: T0, paused: true },
          undefined,
          T0 + after,
          [],
        ),
      ).toEqual([]);
    },
  );
});
