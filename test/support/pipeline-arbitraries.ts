import fc from 'fast-check';
import type { Task, Workflow } from '../../src/events/index.js';
import { dateArb, timeArb, zoneArb } from './calendar-arbitraries.js';

const nameArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
const ruleArb = fc.constantFrom('all_success', 'all_done', 'one_failed', 'none_failed' as const);

/**
 * A valid workflow of 1-8 tasks `t0..tn`, each `after` some earlier ones (so never a cycle), with
 * optional conditions, sensors, retries and resources, on a cron or session schedule.
 */
export const workflowArb: fc.Arbitrary<Workflow> = fc
  .record(
    {
      name: nameArb,
      n: fc.integer({ min: 1, max: 8 }),
      picks: fc.array(fc.array(fc.nat(7), { maxLength: 3 }), { minLength: 8, maxLength: 8 }),
      rules: fc.array(ruleArb, { minLength: 8, maxLength: 8 }),
      whens: fc.array(fc.option(fc.constantFrom('trading_day', 'not_trading_day', 'weekday:3')), {
        minLength: 8,
        maxLength: 8,
      }),
      waits: fc.array(fc.option(timeArb(0, 23)), { minLength: 8, maxLength: 8 }),
      retries: fc.nat(5),
      cron: fc.boolean(),
      zone: zoneArb,
      start: fc.option(dateArb()),
      dependsOnPast: fc.boolean(),
    },
    { noNullPrototype: true },
  )
  .map((r) => {
    const tasks: Task[] = Array.from({ length: r.n }, (_, i) => {
      const after = [...new Set((r.picks[i] ?? []).filter((j) => j < i))].map((j) => `t${j}`);
      const when = r.whens[i];
      const wait = r.waits[i];
      return {
        id: `t${i}`,
        command: ['echo', `t${i}`],
        after,
        trigger: r.rules[i] ?? 'all_success',
        ...(when !== null && when !== undefined && { when }),
        ...(wait !== null && wait !== undefined && { waitUntil: wait }),
        retries: r.retries,
        cpus: 1,
        memMb: 256,
      };
    });
    return {
      name: r.name,
      schedule: {
        ...(r.cron
          ? { cron: '0 6 * * 1-5', timezone: r.zone }
          : { calendar: 'TEST-CAL', at: 'open-30m' }),
        catchup: 'all',
        dependsOnPast: r.dependsOnPast,
        overlap: 'buffer-one',
        ...(r.start !== null && { start: r.start }),
      },
      tasks,
      notify: [{ url: 'http://127.0.0.1:9/hook', on: ['failure'] }],
    } as Workflow;
  });

/** Run ids `NAME@DATE` and their parts. */
export const runDataArb = fc.record(
  {
    workflow: nameArb,
    date: dateArb(),
    workflowVersion: fc.integer({ min: 1, max: 1000 }),
    calendarVersion: fc.integer({ min: 1, max: 1000 }),
    trigger: fc.constantFrom('schedule', 'manual', 'backfill' as const),
    fireAt: fc.nat(),
    jobId: nameArb,
  },
  { noNullPrototype: true },
);
export const taskNameArb = nameArb;
