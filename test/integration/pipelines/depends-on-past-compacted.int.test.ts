import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFold, runFold, stateName } from '../../../src/actors/index.js';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { compactLog } from '../../../src/events/index.js';
import { runJobId, taskJobId } from '../../../src/policy/pipeline/index.js';
import { runScheduler } from '../../../src/scheduler/main.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { quietLogger } from '../../support/farm.js';

const FIRST = '2016-03-01';
const NEXT = '2016-03-02';
/** Generous: a run of one `true` task is a few appends and a launch (load average 10-40). */
const RUN_MS = 45_000;

/**
 * `dependsOnPast` after `drover compact` moved the previous run's job tree to the archive (runs
 * stay live; their jobs move). A scheduler started after the compaction never folded those jobs:
 * the timekeeper read the previous run's task as `queued` (a job it does not know), and the next
 * run waited for ever, whatever the previous run's outcome. Now the ends of those jobs are read
 * from the archive: the next run goes on after a success, and waits after a failure with words
 * that name the previous run and its failure.
 */
describe('dependsOnPast on a compacted previous run (real farm)', () => {
  let farm: ApiFarm;
  let api: ApiClient;

  const runState = async (run: string) =>
    stateName(runFold.foldEvents((await farm.log.read('run', run)).events));
  const job = async (id: string) => jobFold.foldEvents((await farm.log.read('job', id)).events);
  const until = async (what: string, ok: () => Promise<boolean>, ms = RUN_MS) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
      await sleep(200);
    }
  };
  const workflow = (name: string, command: string[]) => ({
    name,
    // A schedule that does not fire during the test: the runs are triggered by date.
    schedule: { cron: '0 6 1 1 *', timezone: 'UTC', dependsOnPast: true },
    tasks: [{ id: 'load', command, cpus: 0.1, memMb: 32 }],
  });

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4 });
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
  }, 60_000);

  it('goes on after a compacted success, waits naming a compacted failure', async () => {
    await api.call('workflow.apply', { workflow: workflow('dop-ok', ['true']) });
    // Fails on the first date only.
    const failFirst = ['sh', '-c', `test "$DROVER_LOGICAL_DATE" != ${FIRST}`];
    await api.call('workflow.apply', { workflow: workflow('dop-fail', failFirst) });
    for (const name of ['dop-ok', 'dop-fail'])
      await api.call('workflow.trigger', { name, date: FIRST });
    await until('first runs end', async () => {
      const states = [await runState(`dop-ok@${FIRST}`), await runState(`dop-fail@${FIRST}`)];
      return states.join() === 'succeeded,failed';
    });

    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    const moved = ['dop-ok', 'dop-fail'].flatMap((w) => [
      runJobId(w, FIRST),
      taskJobId(w, FIRST, 'load'),
    ]);
    expect(report.jobs).toBeGreaterThanOrEqual(moved.length);
    for (const id of moved) expect(await farm.log.lastSeqOf('job', id), id).toBe(0);

    // A scheduler that starts now folds the live log only: the first runs' jobs are unknown to it.
    await farm.scheduler?.stop();
    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'after-compaction',
      leaseTtlMs: 1500,
      nodeLostMs: 3000,
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    for (const name of ['dop-ok', 'dop-fail'])
      await api.call('workflow.trigger', { name, date: NEXT });

    await until(`dop-ok@${NEXT} succeeds`, async () => {
      return (await runState(`dop-ok@${NEXT}`)) === 'succeeded';
    });
    const waiting = taskJobId('dop-fail', NEXT, 'load');
    await until(`${waiting} made`, async () => stateName(await job(waiting)) !== 'none');
    const held = await job(waiting);
    expect(stateName(held)).toBe('held');
    expect(held.context.holdReason).toBe(
      `dependsOnPast: task load of run dop-fail@${FIRST} is failed, not succeeded`,
    );
    expect(await runState(`dop-fail@${NEXT}`)).toBe('running');
  }, 180_000);
});
