import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { compactLog } from '../src/events/index.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { farmHistory } from '../test/support/projection-history.js';

/**
 * Log growth (issue 23 point 7): start-up time and RSS of the scheduler's catch-up and of the API
 * read model at log sizes GROWTH_SIZES (default 100k and 1M events), each against a raw read of
 * the same stream in the same run, before and after `drover compact` moved the job trees done
 * before the last GROWTH_LIVE share (default 10%) of the history was written. The projection
 * runner (usage, fair share, audit, ...) is timed from zero and from its checkpoint. Each fold
 * runs in a process of its own. Prints one JSON document.
 */
const SIZES = (process.env.GROWTH_SIZES ?? '100000,1000000').split(',').map(Number);
const LIVE_SHARE = Number(process.env.GROWTH_LIVE ?? 0.1);
const run = promisify(execFile);

async function child(url: string, what: string): Promise<Record<string, number>> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=32', '--import', 'tsx', 'bench/growth-child.ts'],
    { env: { ...process.env, GROWTH_CHILD: JSON.stringify({ url, what }) }, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

type Figures = Record<string, number>;

async function measure(url: string): Promise<Record<string, Figures>> {
  const raw = await child(url, 'raw');
  const scheduler = await child(url, 'scheduler');
  const api = await child(url, 'api');
  const projectionsFromZero = await child(url, 'projections');
  const projectionsFromCheckpoint = await child(url, 'checkpoint');
  const ratio = (x: Figures) => Math.round((x.ms! / Math.max(1, raw.ms!)) * 10) / 10;
  return {
    raw,
    scheduler: { ...scheduler, vsRaw: ratio(scheduler) },
    api: { ...api, vsRaw: ratio(api) },
    projectionsFromZero: { ...projectionsFromZero, vsRaw: ratio(projectionsFromZero) },
    projectionsFromCheckpoint,
  };
}

function share(
  after: Record<string, Figures>,
  before: Record<string, Figures>,
  part: string,
  key: string,
): number {
  return Math.round(((after[part]?.[key] ?? 0) / (before[part]?.[key] ?? 1)) * 100) / 100;
}

const results = [];
for (const size of SIZES) {
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  try {
    const t0 = performance.now();
    let appended = 0;
    let cutAt = 0;
    for (let h = 0; appended < size; h++) {
      const entries = farmHistory(h + 1, { jobs: 500, users: 20, tag: `g${h}` });
      let window: Promise<unknown>[] = [];
      for (const x of entries) {
        window.push(log.append(x.entity, x.id, [x.event]));
        if (window.length >= 4_096) {
          await Promise.all(window);
          window = [];
        }
      }
      await Promise.all(window);
      appended += entries.length;
      if (!cutAt && appended >= size * (1 - LIVE_SHARE)) cutAt = Date.now();
    }
    const appendMs = Math.round(performance.now() - t0);
    const before = await measure(server.url);
    const c0 = performance.now();
    const moved = await compactLog(nc, { olderThanMs: 0, now: cutAt });
    const compactMs = Math.round(performance.now() - c0);
    const after = await measure(server.url);
    results.push({
      events: appended,
      appendMs,
      compaction: {
        ms: compactMs,
        moved: moved.messages,
        jobs: moved.jobs,
        liveAfter: appended - moved.messages,
      },
      before,
      after,
      afterVsBefore: {
        scheduler: share(after, before, 'scheduler', 'ms'),
        api: share(after, before, 'api', 'ms'),
        schedulerRss: share(after, before, 'scheduler', 'rssMb'),
        apiRss: share(after, before, 'api', 'rssMb'),
      },
    });
  } finally {
    await log.close();
    await nc.close();
    await server.stop();
  }
}
console.log(JSON.stringify({ liveShare: LIVE_SHARE, sizes: results }));
