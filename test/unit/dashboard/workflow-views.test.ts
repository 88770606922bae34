import { describe, expect, it } from 'vitest';
import { applyEvent, emptyReadModel, type RunView } from '../../../src/api/index.js';
import {
  hourOfDay,
  runGantt,
  runGrid,
  taskSeries,
  triggerDate,
  workflowCatchup,
  workflowZone,
  type JobTimes,
} from '../../../src/dashboard/workflow-views.js';
import { eventSubject } from '../../../src/events/index.js';
import { parseWorkflow } from '../../../src/policy/pipeline/index.js';
import { ev } from '../../support/events.js';

const run = (date: string, tasks: [string, string, string | null][], version = 1): RunView => ({
  run: `w@${date}`,
  date,
  state: 'succeeded',
  workflowVersion: version,
  calendarVersion: null,
  trigger: 'schedule',
  jobId: `J-${date}`,
  tasks: tasks.map(([task, state, jobId]) => ({ task, state, jobId })),
});

// Newest first, as runs.list answers; the newest version dropped task `old` and added `c`.
const runs = [
  run(
    '2016-03-25',
    [
      ['a', 'succeeded', 'a3'],
      ['b', 'failed', 'b3'],
      ['c', 'upstream_failed', null],
    ],
    2,
  ),
  run('2016-03-24', [
    ['a', 'succeeded', 'a2'],
    ['old', 'skipped', null],
    ['b', 'running', 'b2'],
  ]),
];
const T0 = Date.UTC(2016, 2, 24, 13, 0, 0);
const times: Record<string, JobTimes> = {
  a2: { startedAt: T0, endedAt: T0 + 2000 },
  b2: { startedAt: T0 + 2000 },
  a3: { startedAt: T0 + 86_400_000, endedAt: T0 + 86_400_000 + 4000 },
  b3: { startedAt: T0 + 86_400_000 + 4000, endedAt: T0 + 86_400_000 + 5000 },
};
const timesOf = (id: string) => times[id];

describe('runGrid', () => {
  it('has the newest version tasks first, then older ones; a task a run lacks reads none', () => {
    const grid = runGrid(runs);
    expect(grid.tasks).toEqual(['a', 'b', 'c', 'old']);
    expect(grid.rows.map((r) => r.run)).toEqual(['w@2016-03-25', 'w@2016-03-24']);
    expect(grid.rows[0]!.cells.map((c) => [c.task, c.state, c.jobId])).toEqual([
      ['a', 'succeeded', 'a3'],
      ['b', 'failed', 'b3'],
      ['c', 'upstream_failed', null],
      ['old', 'none', null],
    ]);
    expect(grid.rows[1]!.cells.map((c) => c.state)).toEqual([
      'succeeded',
      'running',
      'none',
      'skipped',
    ]);
  });

  it('is empty without runs', () => {
    expect(runGrid([])).toEqual({ tasks: [], rows: [] });
  });
});

describe('runGantt', () => {
  it('a bar per task from its job times; no start without a job, no end while running', () => {
    expect(runGantt(runs[1]!, timesOf)).toEqual([
      { task: 'a', jobId: 'a2', state: 'succeeded', start: T0, end: T0 + 2000 },
      { task: 'old', jobId: null, state: 'skipped' },
      { task: 'b', jobId: 'b2', state: 'running', start: T0 + 2000 },
    ]);
  });
});

describe('taskSeries', () => {
  it('runs oldest first; durations in seconds and landing hours in the zone, null if unfinished', () => {
    const s = taskSeries(runs, timesOf, 'America/New_York');
    expect(s.runs).toEqual(['w@2016-03-24', 'w@2016-03-25']);
    expect(s.tasks).toEqual(['a', 'b', 'c', 'old']);
    expect(s.durations).toEqual([
      [2, 4],
      [null, 1],
      [null, null],
      [null, null],
    ]);
    // 13:00:02 UTC on 2016-03-24 is 09:00:02 EDT.
    expect(s.landing[0]![0]).toBeCloseTo(9 + 2 / 3600, 9);
    expect(s.landing[1]).toEqual([null, hourOfDay(T0 + 86_400_000 + 5000, 'America/New_York')]);
  });
});

describe('hourOfDay and triggerDate', () => {
  it('reads the zone, across a DST change', () => {
    expect(hourOfDay(Date.UTC(2016, 2, 12, 14, 30), 'America/New_York')).toBe(9.5); // EST
    expect(hourOfDay(Date.UTC(2016, 2, 14, 13, 30), 'America/New_York')).toBe(9.5); // EDT
    expect(hourOfDay(Date.UTC(2016, 2, 14, 13, 30), 'UTC')).toBe(13.5);
  });

  it("is today's date in the zone, not in UTC", () => {
    const lateEvening = Date.UTC(2016, 2, 25, 2, 0); // 22:00 on the 24th in New York
    expect(triggerDate('America/New_York', lateEvening)).toBe('2016-03-24');
    expect(triggerDate('UTC', lateEvening)).toBe('2016-03-25');
  });
});

describe('workflowZone and workflowCatchup', () => {
  it("is the schedule's zone (UTC without a schedule or workflow); catchup defaults to all", () => {
    const model = emptyReadModel();
    let seq = 0;
    const apply = (name: string, def: unknown) => {
      const parsed = parseWorkflow(def);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      const e = ev('workflow.applied', { version: 1, workflow: parsed.workflow });
      applyEvent(model, {
        ...e,
        recorded: { subject: eventSubject('workflow', name), seq: ++seq },
      });
    };
    apply('ny', {
      name: 'ny',
      schedule: { cron: '0 6 * * *', timezone: 'America/New_York' },
      tasks: [{ id: 'a' }],
    });
    apply('bare', { name: 'bare', tasks: [{ id: 'a' }] });
    expect(workflowZone(model, 'ny')).toBe('America/New_York');
    expect(workflowZone(model, 'bare')).toBe('UTC');
    expect(workflowZone(model, 'nope')).toBe('UTC');
    expect(workflowCatchup(model, 'ny')).toBe('all');
    apply('late', {
      name: 'late',
      schedule: { cron: '0 6 * * *', catchup: 'latest' },
      tasks: [{ id: 'a' }],
    });
    expect(workflowCatchup(model, 'late')).toBe('latest');
  });
});
