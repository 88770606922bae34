import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

interface RunDoc {
  run: string;
  date: string;
  state: string;
  workflowVersion: number;
  tasks: { task: string; jobId: string | null; state: string }[];
}

/**
 * `drover workflow` and `drover runs` as people use them: CLI processes against a real farm
 * (nats-server, the scheduler with its timekeeper, agents running the tasks' processes).
 */
describe('workflows and runs (real farm, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  /** Poll `drover runs` until the run reaches one of `states` (generous bound against hangs). */
  const waitRun = async (name: string, run: string, states: string[], ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const { doc } = await json<RunDoc[]>('runs', name);
      const found = doc.find((r) => r.run === run);
      if (found && states.includes(found.state)) return found;
      if (Date.now() > deadline) throw new Error(`${run}: ${JSON.stringify(found)} after ${ms} ms`);
      await sleep(200);
    }
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2, cpus: 4 });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-wf-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses a bad file naming the path; an identical re-apply changes nothing, a change is v2', async () => {
    const bad = await write(
      'bad.yaml',
      'name: bad\ntasks:\n  - id: a\n  - id: b\n    after: [nope]\n',
    );
    const refused = await cli('workflow', 'apply', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('tasks[1].after[0]: no task nope');
    const typo = await write('typo.yaml', 'name: typo\ntasks:\n  - id: a\n    retries: many\n');
    expect((await cli('workflow', 'apply', typo)).stderr).toContain('tasks[0].retries');

    const text = [
      'name: daily',
      'schedule: { cron: "0 6 * * 1-5", timezone: America/New_York, end: 2016-12-31 }',
      'tasks:',
      '  - id: a',
      '    command: [sh, -c, "echo $DROVER_RUN $DROVER_LOGICAL_DATE $DROVER_TASK > a.out"]',
      '  - { id: b, after: [a], command: ["true"] }',
    ].join('\n');
    const file = await write('daily.yaml', text);
    expect((await json('workflow', 'apply', file)).doc).toEqual({ name: 'daily', version: 1 });
    expect((await json('workflow', 'apply', file)).doc).toEqual({ name: 'daily', version: 1 });
    expect((await farm.log.read('workflow', 'daily')).events).toHaveLength(1);
    await writeFile(file, text + '\n  - { id: c, after: [b], trigger: all_done }\n');
    expect((await json('workflow', 'apply', file)).doc).toEqual({ name: 'daily', version: 2 });

    const list = await json<{ name: string; version: number; paused: boolean; next: string }[]>(
      'workflow',
      'list',
    );
    expect(list.doc).toEqual([
      { name: 'daily', version: 2, paused: false, next: expect.any(String) },
    ]);
    const next = await json<string[]>(
      'workflow',
      'next',
      'daily',
      '--count',
      '3',
      '--from',
      '2016-03-24T12:00:00Z',
    );
    expect(next.doc).toEqual([
      '2016-03-25T06:00:00-04:00',
      '2016-03-28T06:00:00-04:00',
      '2016-03-29T06:00:00-04:00',
    ]);
    expect((await json('workflow', 'pause', 'daily')).doc).toEqual({ name: 'daily', paused: true });
    expect((await cli('workflow', 'pause', 'daily')).code).toBe(4);
    expect((await json('workflow', 'resume', 'daily')).doc).toEqual({
      name: 'daily',
      paused: false,
    });
    expect((await cli('workflow', 'next', 'nope')).code).toBe(3);
  }, 120_000);

  it('a manual trigger runs the tasks as a job tree; backfill lists then creates the dates', async () => {
    const t = await json<{ run: string }>('workflow', 'trigger', 'daily', '--date', '2016-03-24');
    expect(t.code, t.stderr).toBe(0);
    expect(t.doc).toEqual({ run: 'daily@2016-03-24' });
    expect((await cli('workflow', 'trigger', 'daily', '--date', '2016-03-24')).code).toBe(4);
    const run = await waitRun('daily', 'daily@2016-03-24', ['succeeded', 'failed']);
    expect(run.state).toBe('succeeded');
    expect(run.workflowVersion).toBe(2);
    expect(run.tasks.map((x) => [x.task, x.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
    ]);
    expect((await readFile(join(dir, 'a.out'), 'utf8')).trim()).toBe(
      'daily@2016-03-24 2016-03-24 a',
    );
    const tree = await json<{ children: string[]; state: string }>('show', 'daily_2016-03-24');
    expect(tree.doc.state).toBe('succeeded');
    expect([...tree.doc.children].sort()).toEqual(run.tasks.map((x) => x.jobId).sort());
    const audit = await json<{ type: string }[]>('audit', 'daily@2016-03-24');
    expect(audit.doc.map((e) => e.type)).toContain('run.scheduled');
    expect(audit.doc.map((e) => e.type)).toContain('job.child_added');

    const dry = await json<{ runs: string[] }>(
      'workflow',
      'backfill',
      'daily',
      '--from',
      '2016-03-23',
      '--to',
      '2016-03-29',
      '--dry-run',
    );
    expect(dry.doc.runs).toEqual([
      'daily@2016-03-23',
      'daily@2016-03-25',
      'daily@2016-03-28',
      'daily@2016-03-29',
    ]);
    const made = await json<{ runs: string[] }>(
      'workflow',
      'backfill',
      'daily',
      '--from',
      '2016-03-23',
      '--to',
      '2016-03-25',
    );
    expect(made.doc.runs).toEqual(['daily@2016-03-23', 'daily@2016-03-25']);
    for (const r of made.doc.runs)
      expect((await waitRun('daily', r, ['succeeded', 'failed'])).state).toBe('succeeded');
    const runs = await json<RunDoc[]>('runs', 'daily', '--limit', '2');
    expect(runs.doc.map((r) => r.run)).toEqual(['daily@2016-03-25', 'daily@2016-03-24']);
  }, 180_000);

  it('trigger rules and conditions: a false condition skips that task and what is only downstream', async () => {
    // 2016-03-26 is a Saturday: weekday:6 holds, trading_day does not (Mon-Fri without a calendar).
    const text = [
      'name: branchy',
      'tasks:',
      '  - { id: start, command: ["true"] }',
      '  - { id: weekdays, after: [start], when: trading_day, command: ["true"] }',
      '  - { id: report, after: [weekdays], command: ["true"] }',
      '  - { id: saturday, after: [start], when: "weekday:6", command: [sh, -c, "exit 3"] }',
      '  - { id: onfail, after: [saturday], trigger: one_failed, command: ["true"] }',
      '  - { id: join, after: [report, saturday], trigger: none_failed, command: ["true"] }',
      '  - { id: always, after: [report, saturday], trigger: all_done, command: ["true"] }',
    ].join('\n');
    expect((await cli('workflow', 'apply', await write('branchy.yaml', text))).code).toBe(0);
    const { doc } = await json<{ run: string }>(
      'workflow',
      'trigger',
      'branchy',
      '--date',
      '2016-03-26',
    );
    const run = await waitRun('branchy', doc.run, ['succeeded', 'failed', 'skipped']);
    expect(Object.fromEntries(run.tasks.map((x) => [x.task, x.state]))).toEqual({
      start: 'succeeded',
      weekdays: 'skipped',
      report: 'skipped',
      saturday: 'failed',
      onfail: 'succeeded',
      join: 'upstream_failed',
      always: 'succeeded',
    });
    expect(run.state).toBe('failed');
    expect(run.tasks.find((x) => x.task === 'report')?.jobId).toBeNull();
  }, 120_000);
});
