import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistories } from '../../../bench/growth-seed.js';
import {
  createApiClient,
  publicState,
  startApiService,
  type ReadModel,
} from '../../../src/api/index.js';
import { startLiveModel } from '../../../src/api/live-model.jetstream.js';
import { openStartupSnapshots } from '../../../src/api/startup-snapshot.jetstream.js';
import { startFeed } from '../../../src/dashboard/feed.jetstream.js';
import { compactLog } from '../../../src/events/index.js';
import { uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';
import { appendChained, farmHistory, type Entry } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/*
 * Issue 23 point 7: a cold start of the API's read model and of the dashboard's feed folds only
 * the archive runs whose jobs may have ended within the retention. History A is compacted at
 * t1; history B (its jobs ending from t0B on) at t2 > t0B > t1. The services' clock puts the
 * retention's start between t1 and t0B: A's run is past it (not folded), B's is not (listed).
 */
const RETAIN_MS = 3_600_000;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const silent = pino({ level: 'silent' });

/** Job `id`'s public state in `model` ('' when the model does not hold it). */
function stateIn(model: ReadModel, id: string): string {
  const job = model.jobs.get(id);
  return (job && publicState(job)) ?? '';
}

/** Ids of `entries`' jobs now only in the archive (the live log has none of their events). */
async function archivedJobs(entries: readonly Entry[]): Promise<string[]> {
  const ids = [...new Set(entries.filter((x) => x.entity === 'job').map((x) => x.id))];
  const out: string[] = [];
  for (const id of ids) if ((await farm.log.read('job', id)).events.length === 0) out.push(id);
  return out;
}

describe('cold start after compaction, on a real nats-server', () => {
  it('does not fold archived jobs that ended before the retention, and still lists recent archived ones', async () => {
    const a = farmHistory(3, { jobs: 30, users: 2, tag: uid('A') });
    await seedHistories(farm.nc, { events: a.length, history: (h) => (h ? [] : a) });
    const runA = (await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() })).run;
    await sleep(50);
    const t0B = Date.now();
    const b = farmHistory(4, { jobs: 30, users: 2, tag: uid('B'), t0: t0B });
    await seedHistories(farm.nc, { events: b.length, history: (h) => (h ? [] : b) });
    // `--older-than 60s` style: B's jobs ended just now, within the retention, and move anyway.
    const runB = (await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() })).run;
    expect(runA && runB).toBeTruthy();
    const goneA = await archivedJobs(a);
    const goneB = await archivedJobs(b);
    expect(goneA.length).toBeGreaterThan(10);
    expect(goneB.length).toBeGreaterThan(10);
    const t1 = Date.parse(runA?.at ?? '');
    const clock = () => Math.floor((t1 + t0B) / 2) + RETAIN_MS;

    const holds = (model: ReadModel, retired: number) => {
      // On the old code A's run was folded: its trees stayed, the rest was folded and let go of.
      for (const id of goneA) expect(model.jobs.has(id), id).toBe(false);
      expect(retired).toBe(0);
      for (const id of goneB) expect(model.jobs.has(id), id).toBe(true);
    };
    const api = await startApiService({
      nc: farm.nc,
      logger: quietLogger,
      readRetentionMs: RETAIN_MS,
      clock,
    });
    try {
      holds(api.live.model, api.live.retention.retired);
      const client = createApiClient(farm.nc);
      const listed = new Set((await client.jobs({ all: true })).map((r) => r.id));
      const finishedB = goneB.filter((id) => TERMINAL.includes(stateIn(api.live.model, id)));
      expect(finishedB.length).toBeGreaterThan(10);
      for (const id of finishedB) expect(listed.has(id), id).toBe(true);
      for (const id of goneA) expect(listed.has(id)).toBe(false);
      // Not folded is not lost: a job of A is answered from the archive on demand.
      expect((await client.job(goneA[0] as string)).id).toBe(goneA[0]);
    } finally {
      await api.stop();
    }
    const feed = await startFeed(farm.nc, farm.log, silent, clock, {
      snapshots: null,
      retainMs: RETAIN_MS,
    });
    try {
      holds(feed.model, feed.retention.retired);
    } finally {
      await feed.stop();
    }
  }, 180_000);

  it('from a start-up snapshot, a run holding events of jobs the snapshot saw half-way is read, however old its cutoff', async () => {
    const tag = uid('C');
    const history = farmHistory(5, { jobs: 12, users: 2, tag });
    const jobEvents = (id: string) => history.filter((x) => x.entity === 'job' && x.id === id);
    const ids = [...new Set(history.filter((x) => x.entity === 'job').map((x) => x.id))];
    // A job begun before the snapshot whose end comes after it.
    const straddling = ids.find((id) => {
      const at = jobEvents(id).map((x) => history.indexOf(x));
      return at.length > 1 && (at[0] as number) < history.length / 2;
    }) as string;
    const cut = history.indexOf(jobEvents(straddling).at(-1) as Entry);
    const chain = await appendChained(farm.log, history.slice(0, cut));
    const snapshots = await openStartupSnapshots(farm.nc, 'read-model', silent, {
      bucket: `snap_${tag}`,
    });
    const first = await startLiveModel(farm.nc, farm.log, silent, {
      snapshots,
      retainMs: RETAIN_MS,
      clock: () => 0,
    });
    expect(first.model.jobs.has(straddling)).toBe(true);
    expect(TERMINAL).not.toContain(stateIn(first.model, straddling));
    await first.stop(); // saves the snapshot
    await appendChained(farm.log, history.slice(cut), chain);
    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    expect(report.roots).toBeGreaterThan(0);
    expect((await farm.log.read('job', straddling)).events).toEqual([]);

    // The run's cutoff is past the retention: a cold start would leave it out; this one must not.
    const resumed = await startLiveModel(farm.nc, farm.log, silent, {
      snapshots,
      retainMs: RETAIN_MS,
      clock: () => Date.now() + 2 * RETAIN_MS,
      stallMs: 10_000,
    });
    try {
      // Ended (and let go of, or kept in its tree), never left running half-folded.
      if (resumed.model.jobs.has(straddling))
        expect(TERMINAL).toContain(stateIn(resumed.model, straddling));
    } finally {
      await resumed.stop();
    }
  }, 180_000);

  it('starts when the log ends in archived history it leaves out (no wait for events it is never given)', async () => {
    // The previous compaction moved the log's last events: the stream's last sequence is archived.
    expect(await farm.log.lastLiveSeq()).toBeLessThan(await farm.log.lastSeq());
    const clock = () => Date.now() + 10 * RETAIN_MS;
    const live = await startLiveModel(farm.nc, farm.log, silent, {
      snapshots: null,
      retainMs: RETAIN_MS,
      clock,
      stallMs: 5_000,
    });
    expect(live.retention.retired).toBe(0);
    await live.stop();
    const feed = await startFeed(farm.nc, farm.log, silent, clock, {
      snapshots: null,
      retainMs: RETAIN_MS,
      stallMs: 5_000,
    });
    await feed.stop();
  }, 60_000);
});
