import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { startLiveModel, type LiveModel } from '../src/api/live-model.jetstream.js';
import { startFeed, type Feed } from '../src/dashboard/feed.jetstream.js';
import { compactLog } from '../src/events/index.js';
import type { ReadModel } from '../src/api/index.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { farmHistory } from '../test/support/projection-history.js';
import { seedHistories } from './growth-seed.js';

/*
 * Issue 23 point 7: the read models per job, kept (no retention, as before) and let go of (a
 * retention every seeded job is past: they ended in 2023), for the API's live model and the
 * dashboard's feed. One nats-server, `READ_JOBS` jobs of `farmHistory` (500 a history) seeded
 * raw; each model folds the whole log in this process, and the heap is measured after a full GC,
 * against the same process's baseline before the fold. Then every job is compacted and each
 * starts cold again: with every job kept it folds the whole archive; with a retention the
 * archive's runs are older than, it folds only the live log (start-up flat in the history).
 * Prints one JSON document; each `ratio` (retained over kept) has its same-run ceiling.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};
const JOBS = Number(process.env.READ_JOBS) || 4_000;
/** At least half of the per-job memory must go. */
const HEAP_CEILING = 0.5;
/** A cold start past the archive must take under a fifth of one that folds it. */
const COLD_CEILING = 0.2;

interface Holder {
  readonly model: ReadModel;
  readonly retention: { readonly retired: number; readonly waiting: number };
  stop(): Promise<void>;
}

const server = await startNatsServer();
const { nc, log } = await openEventLog(server);
const logger = pino({ level: 'silent' });
const starts: Record<string, (retainMs: number) => Promise<Holder>> = {
  api: (retainMs): Promise<LiveModel> =>
    startLiveModel(nc, log, logger, { snapshots: null, retainMs }),
  dashboard: (retainMs): Promise<Feed> =>
    startFeed(nc, log, logger, Date.now, { snapshots: null, retainMs }),
};
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** Start `what` with `retainMs`, wait until the retention is done, and weigh it. */
async function measure(what: string, retainMs: number, base: number) {
  const t0 = performance.now();
  let holder: Holder | undefined = await (starts[what] as (ms: number) => Promise<Holder>)(
    retainMs,
  );
  if (Number.isFinite(retainMs)) {
    const h = holder;
    for (let i = 0; i < 3000 && h.retention.waiting > 0; i++) await sleep(20);
  }
  const ms = Math.round(performance.now() - t0);
  const bytes = heap() - base;
  const out = {
    ms,
    heapMb: Math.round(bytes / 1e5) / 10,
    perJobKb: Math.round(bytes / JOBS / 102.4) / 10,
    jobsInModel: holder.model.jobs.size,
    chunksInModel: holder.model.chunks.size,
    workersInModel: holder.model.workers.size,
    retired: holder.retention.retired,
    seq: holder.model.seq,
  };
  await holder.stop();
  holder = undefined;
  return out;
}

try {
  const histories = Math.ceil(JOBS / 500);
  const seeded = await seedHistories(nc, {
    events: Number.MAX_SAFE_INTEGER,
    history: (h) =>
      h < histories ? farmHistory(h + 1, { jobs: 500, users: 20, tag: `r${h}` }) : [],
  });
  const base = heap();
  const models: Record<string, unknown> = {};
  let pass = true;
  for (const what of Object.keys(starts)) {
    const kept = await measure(what, Infinity, base);
    const retained = await measure(what, 0, base);
    const r = ratio(retained.heapMb, kept.heapMb);
    pass &&= r <= HEAP_CEILING;
    models[what] = { kept, retained, ratio: r, ceiling: HEAP_CEILING };
  }
  // Every job tree is done (their events are stored now): all of them move to the archive.
  const compaction = await compactLog(nc, { now: Date.now(), olderThanMs: 0 });
  await sleep(1_100);
  const cold: Record<string, unknown> = {};
  for (const what of Object.keys(starts)) {
    const kept = await measure(what, Infinity, base);
    // A retention of 1 s: the compaction's run (cutoff over a second ago) is past it.
    const retained = await measure(what, 1_000, base);
    const r = ratio(retained.ms, kept.ms);
    pass &&= r <= COLD_CEILING;
    cold[what] = { kept, retained, ratio: r, ceiling: COLD_CEILING };
  }
  console.log(
    JSON.stringify(
      {
        bench: 'read-retention',
        jobs: JOBS,
        events: seeded.events,
        models,
        compacted: { jobs: compaction.jobs, messages: compaction.messages },
        coldStartAfterCompaction: cold,
        pass,
      },
      null,
      2,
    ),
  );
  if (!pass) process.exitCode = 1;
} finally {
  await log.close();
  await nc.close();
  await server.stop();
}
