import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { isCorrupt, type RecordedEvent } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';

const EVERY_S = 3;

/**
 * The first story of issue 17: a daily job must never "break ranks". A workflow firing every 3 s
 * with `dependsOnPast` on a real farm; the leading scheduler is killed -9 right after it fired a
 * run, the standby takes over; later every scheduler is down for a few fires and one comes back.
 * Every fire is a run exactly once, in logical-date order, none skipped, and no task started
 * before the same task of the previous run had succeeded.
 */
describe('depends-on-past across scheduler kill -9 and downtime (real farm)', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  const schedulers: DroverProcess[] = [];
  const spawnScheduler = (id: string) => {
    const p = spawnDrover(['scheduler', '--no-api', '--json'], {
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: farm.dataDir,
      DROVER_SCHEDULER_ID: id,
      DROVER_LEASE_TTL_MS: '1500',
    });
    schedulers.push(p);
    return p;
  };
  const events = async (): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    for await (const item of farm.log.replay())
      if (!isCorrupt(item)) out.push(item as RecordedEvent);
    return out;
  };
  const scheduled = async () => (await events()).filter((e) => e.type === 'run.scheduled');
  /** On a timeout, `explain` says what was still waiting (the next red run explains itself). */
  const waitFor = async (
    what: string,
    check: () => Promise<boolean>,
    ms = 60_000,
    explain: () => Promise<string> = async () => '',
  ) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms${await explain()}`);
      await sleep(200);
    }
  };
  /**
   * Each run that has not ended: its last event, and its job's and its task's job's last event
   * and their chunk's; then what the schedulers logged last (warnings and errors).
   */
  const stuckRuns = async (runs: readonly string[]): Promise<string> => {
    const log = await events();
    const last = (subject: string) =>
      log.filter((e) => e.recorded.subject === subject).at(-1)?.type ?? 'nothing';
    const lines = runs
      .filter((run) => !/^run\.(succeeded|failed)$/.test(last(`drover.ev.run.${run}`)))
      .map((run) => {
        const jobs = [run.replace('@', '_'), `${run.replace('@', '_')}_load`];
        const parts = jobs.map(
          (j) => `${j}: ${last(`drover.ev.job.${j}`)}, chunk ${last(`drover.ev.chunk.${j}:0`)}`,
        );
        return `${run}: ${last(`drover.ev.run.${run}`)}; ${parts.join('; ')}`;
      });
    const logs = schedulers.map((p, i) => `scheduler ${i + 1}: ${p.output().slice(-1500)}`);
    return `\nstill open:\n${lines.join('\n')}\n${logs.join('\n')}`;
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2, cpus: 4, scheduler: false });
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await farm?.stop();
  }, 60_000);

  it('the standby neither skips nor repeats a fire, catch-up is in order, ranks are kept', async () => {
    const first = spawnScheduler('first');
    await waitFor('first leads', async () => first.output().includes('"epoch"'));
    const second = spawnScheduler('second');
    await api.call('workflow.apply', {
      workflow: {
        name: 'ranks',
        schedule: {
          cron: `*/${EVERY_S} * * * * *`,
          timezone: 'UTC',
          dependsOnPast: true,
          overlap: 'allow',
        },
        // Runs overlap (allow) and a run at an even second takes 4 s, longer than the next
        // run's wait: without dependsOnPast the next run's task would start and end first.
        tasks: [
          {
            id: 'load',
            command: [
              'sh',
              '-c',
              'case $DROVER_LOGICAL_DATE in *[02468]) sleep 4;; *) sleep 0.1;; esac',
            ],
            cpus: 0.5,
            memMb: 32,
          },
        ],
      },
    });
    // The leader dies right after a fire: the second run.scheduled is in the log.
    await waitFor('two fires', async () => (await scheduled()).length >= 2);
    await first.kill9();
    const killedAt = (await scheduled()).length;
    await waitFor('the standby fires', async () => (await scheduled()).length >= killedAt + 3);
    // Now every scheduler is down for a few fires; one comes back and catches up.
    await second.kill9();
    const downFrom = Date.now();
    await sleep(EVERY_S * 3 * 1000);
    const third = spawnScheduler('third');
    await waitFor('catch-up', async () =>
      (await scheduled()).some((e) => e.at > downFrom + EVERY_S * 3 * 1000 && e.by.id === 'third'),
    );
    await api.call('workflow.pause', { name: 'ranks' });
    const all = await scheduled();
    const runs = all.map((e) => e.recorded.subject.slice('drover.ev.run.'.length));
    await waitFor(
      'every run ends',
      async () => {
        const ended = (await events()).filter(
          (e) => e.type === 'run.succeeded' || e.type === 'run.failed',
        );
        return ended.length >= runs.length;
      },
      120_000,
      () => stuckRuns(runs),
    );
    const log = await events();

    // Once each, and the fires are consecutive: no duplicate, no gap (nothing skipped).
    expect(new Set(runs).size).toBe(runs.length);
    const fireAts = all.map((e) => (e.data as { fireAt: number }).fireAt);
    expect(fireAts.every((t, i) => i === 0 || t - (fireAts[i - 1] ?? 0) === EVERY_S * 1000)).toBe(
      true,
    );
    expect(log.filter((e) => e.type === 'run.skipped')).toEqual([]);
    // Created in logical-date order (the catch-up too) and by three schedulers.
    expect([...runs].sort()).toEqual(runs);
    expect(new Set(all.map((e) => e.by.id))).toEqual(new Set(['first', 'second', 'third']));
    expect(third.output()).toMatch(/"epoch":\s*3/);
    // Ranks: each run's task job started only after the previous run's one succeeded.
    const jobOf = (run: string) => `${run.replace('@', '_')}_load`;
    const seqOf = (job: string, type: string) =>
      log.find((e) => e.recorded.subject === `drover.ev.job.${job}` && e.type === type)?.recorded
        .seq ?? -1;
    for (let i = 1; i < runs.length; i++) {
      const before = seqOf(jobOf(runs[i - 1]!), 'job.succeeded');
      const started = seqOf(jobOf(runs[i]!), 'job.started');
      expect(before, `${runs[i - 1]} load succeeded`).toBeGreaterThan(0);
      expect(started, `${runs[i]} load started after ${runs[i - 1]} succeeded`).toBeGreaterThan(
        before,
      );
    }
    expect(log.filter((e) => e.type === 'run.succeeded')).toHaveLength(runs.length);
  }, 240_000);
});
