import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { startLiveModel, type LiveModel } from '../src/api/live-model.jetstream.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { farmHistory } from '../test/support/projection-history.js';
import { seedHistories } from './growth-seed.js';

/*
 * Issue 23 point 7: the API's read model per job, kept (no retention, as before) and let go of
 * (a retention every seeded job is past: they ended in 2023). One nats-server, `READ_JOBS` jobs
 * of `farmHistory` (500 a history) seeded raw; each model folds the whole log in this process,
 * and the heap is measured after a full GC, against the same process's baseline before the fold.
 * Prints one JSON document; `ratio` is the retained model's heap over the kept one's, with its
 * same-run ceiling (0.5: at least half of the per-job memory must go).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};
const JOBS = Number(process.env.READ_JOBS) || 4_000;
const CEILING = 0.5;

const server = await startNatsServer();
const { nc, log } = await openEventLog(server);
const logger = pino({ level: 'silent' });
try {
  const histories = Math.ceil(JOBS / 500);
  const seeded = await seedHistories(nc, {
    events: Number.MAX_SAFE_INTEGER,
    history: (h) =>
      h < histories ? farmHistory(h + 1, { jobs: 500, users: 20, tag: `r${h}` }) : [],
  });
  const base = heap();
  const measure = async (retainMs: number) => {
    const t0 = performance.now();
    let live: LiveModel | undefined = await startLiveModel(nc, log, logger, {
      snapshots: null,
      retainMs,
    });
    if (Number.isFinite(retainMs)) await live.until(() => live?.retention.waiting === 0, 60_000);
    const ms = Math.round(performance.now() - t0);
    const bytes = heap() - base;
    const out = {
      ms,
      heapMb: Math.round(bytes / 1e5) / 10,
      perJobKb: Math.round(bytes / JOBS / 102.4) / 10,
      jobsInModel: live.model.jobs.size,
      chunksInModel: live.model.chunks.size,
      workersInModel: live.model.workers.size,
      retired: live.retention.retired,
    };
    await live.stop();
    live = undefined;
    return out;
  };
  const kept = await measure(Infinity);
  const retained = await measure(0);
  const ratio = Math.round((retained.heapMb / kept.heapMb) * 100) / 100;
  console.log(
    JSON.stringify(
      {
        bench: 'read-retention',
        jobs: JOBS,
        events: seeded.events,
        kept,
        retained,
        ratio,
        ceiling: CEILING,
        pass: ratio <= CEILING,
      },
      null,
      2,
    ),
  );
  if (ratio > CEILING) process.exitCode = 1;
} finally {
  await log.close();
  await nc.close();
  await server.stop();
}
