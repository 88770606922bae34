import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobBehaviour, type JobSnapshot } from '../../../src/actors/index.js';
import {
  compactLog,
  isCorrupt,
  parseEventSubject,
  type RecordedEvent,
} from '../../../src/events/index.js';
import { defaultFairShareConfig } from '../../../src/policy/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { runScheduler } from '../../../src/scheduler/main.js';
import { startLiveModel } from '../../../src/api/live-model.jetstream.js';
import { startFeed } from '../../../src/dashboard/feed.jetstream.js';
import {
  USAGE_CHECKPOINT_KEY,
  usageCheckpointBucket,
} from '../../../src/scheduler/usage-checkpoint.jetstream.js';
import { quietLogger, startFarm, type Farm } from '../../support/farm.js';

/**
 * Issue 23 point 7: a scheduler that starts after compaction moved the finished job trees out of
 * the live log still ranks users by all the usage they had: its usage fold starts from the
 * checkpoint the previous leader wrote (its last one on stop), not from the live log's start.
 * Compared with a full fold of the log with the archive merged back in.
 */
let farm: Farm;
beforeAll(async () => {
  farm = await startFarm({ agents: 1 });
}, 120_000);
afterAll(async () => {
  await farm?.stop();
});

/** What a fold of the whole history (archive merged) gives: the usage a scheduler must rank by. */
async function fullFold(): Promise<FarmIndex> {
  const index = new FarmIndex(defaultFairShareConfig.halfLifeS);
  const jobs = new Map<string, JobSnapshot>();
  for await (const item of farm.log.replay()) {
    if (isCorrupt(item)) continue;
    const e = item as RecordedEvent;
    const where = parseEventSubject(e.recorded.subject);
    if (where?.entity === 'job')
      jobs.set(where.id, jobBehaviour.evolve(jobs.get(where.id) ?? jobBehaviour.initial(), e));
    index.usage(e, (jobId) => jobs.get(jobId)?.context.spec?.user);
  }
  return index;
}

describe('the scheduler starts its usage from a checkpoint', () => {
  it('after compaction, a new leader has the same usage standing as a full fold', async () => {
    const ids: string[] = [];
    for (const user of ['alice', 'bob', 'alice'])
      ids.push(
        await farm.submit({ name: 'u', user, cpus: 1, memMb: 16, command: ['sleep', '0.3'] }),
      );
    for (const id of ids) await farm.waitFor(id, ['succeeded'], 60_000);
    const first = farm.scheduler!;
    await first.stop(); // the leader's last act: its usage checkpoint
    const kv = await usageCheckpointBucket(farm.nc);
    expect((await kv.get(USAGE_CHECKPOINT_KEY))?.operation).toBe('PUT');

    const moved = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() + 1000 });
    expect(moved.jobs).toBe(3); // every tree left the live log, and its usage with it
    const full = await fullFold();
    expect(Object.keys(full.history.byUser).sort()).toEqual(['alice', 'bob']);

    // The API's read model and the dashboard's feed, started right after the compaction purged the
    // stream's last events (last_seq stays), catch up: they fold the archive merged in, so the
    // events up to last_seq are there to reach, and the moved jobs answer.
    const live = await startLiveModel(farm.nc, farm.log, quietLogger, {
      snapshots: null,
      stallMs: 5_000,
    });
    const feed = await startFeed(farm.nc, farm.log, quietLogger, Date.now, {
      snapshots: null,
      stallMs: 5_000,
    });
    try {
      for (const id of ids) expect(live.model.jobs.get(id)?.value).toBe('succeeded');
      expect(feed.model.seq).toBeGreaterThan(0);
    } finally {
      await live.stop();
      await feed.stop();
    }

    farm.scheduler = await runScheduler({
      nc: farm.nc,
      logger: quietLogger,
      holder: 'second-scheduler',
      leaseTtlMs: 1500,
    });
    expect(farm.scheduler.usage()).toEqual(full.history);
  }, 180_000);
});
