import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistories } from '../../../bench/growth-seed.js';
import {
  createApiClient,
  publicState,
  startApiService,
  type ApiService,
} from '../../../src/api/index.js';
import { compactLog } from '../../../src/events/index.js';
import { drover } from '../../support/drover-cli.js';
import { uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';
import { farmHistory } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/*
 * Issue 23 point 7: the API's read model lets go of finished jobs after a retention, and answers
 * them from the log (the archive too, once compacted) with the same documents. The service's
 * clock is the test's: at 0 nothing is due (the history's jobs ended in 2023), then it jumps.
 */
const RETAIN_MS = 1_000;
let now = 0;
let api: ApiService;
let tag: string;

beforeAll(async () => {
  tag = uid('R');
  const entries = farmHistory(7, { jobs: 40, users: 3, tag });
  await seedHistories(farm.nc, { events: entries.length, history: (h) => (h ? [] : entries) });
  api = await startApiService({
    nc: farm.nc,
    logger: quietLogger,
    readRetentionMs: RETAIN_MS,
    clock: () => now,
  });
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

describe('read model retention, on a real nats-server and API service', () => {
  it('a finished job leaves the model after the retention; show, explain and logs answer the same from the log and the archive', async () => {
    const client = createApiClient(farm.nc);
    const model = api.live.model;
    const finished = [...model.jobs]
      .filter(
        ([id, j]) =>
          id.startsWith(tag) && ['succeeded', 'failed', 'cancelled'].includes(publicState(j) ?? ''),
      )
      .map(([id]) => id);
    expect(finished.length).toBeGreaterThan(5);
    const before = new Map<string, unknown>();
    for (const id of finished) {
      before.set(id, {
        job: await client.job(id),
        status: await client.status(id),
        explain: await client.explain(id),
        logs: await client.logs({ id }),
        plans: { cancel: await client.cancelPlan(id), clear: await client.clearPlan(id) },
      });
    }
    const jobsBefore = model.jobs.size;
    const chunksBefore = model.chunks.size;

    now = Date.now();
    expect(await api.live.until(() => api.live.retention.retired > 5, 10_000)).toBe(true);
    const retired = finished.filter((id) => !model.jobs.has(id));
    expect(retired.length).toBeGreaterThan(5);
    expect(model.jobs.size).toBeLessThan(jobsBefore);
    expect(model.chunks.size).toBeLessThan(chunksBefore);
    const listed = new Set((await client.jobs({ all: true })).map((r) => r.id));
    expect(retired.some((id) => listed.has(id))).toBe(false);

    const answers = async (id: string, plans = true) => ({
      job: await client.job(id),
      status: await client.status(id),
      explain: await client.explain(id),
      logs: await client.logs({ id }),
      plans: plans && { cancel: await client.cancelPlan(id), clear: await client.clearPlan(id) },
    });
    for (const id of retired) expect(await answers(id)).toEqual(before.get(id));
    // The CLI prints the same document it printed while the job was in memory.
    const [first, second] = retired as [string, string];
    const shown = await drover(farm.server.url, ['show', first, '--json']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(`${JSON.stringify((before.get(first) as { job: unknown }).job)}\n`);
    // A late event of a job let go of is in the log (and in `show`), not folded onto nothing.
    const skipped = model.skipped;
    await client.clear(second);
    expect((await client.job(second)).resultsCleared).toBe(true);
    await api.live.reach(await farm.log.lastSeq());
    expect(model.jobs.has(second)).toBe(false);
    expect(model.skipped).toBe(skipped);
    await expect(client.job(`${tag}-none`)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Compacted: the job's events now live in the archive only.
    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    expect(report.jobs).toBeGreaterThan(0);
    // The plans are read from the archive too: the cancel plan as before, the clear plan with
    // the closed history as its blocker (nothing is written to a compacted job).
    for (const id of retired.filter((x) => x !== second)) {
      const was = before.get(id) as Awaited<ReturnType<typeof answers>>;
      const is = await answers(id);
      expect({ ...is, plans: false }).toEqual({ ...was, plans: false });
      const plans = was.plans as { cancel: unknown; clear: { blockers: unknown[] } };
      expect(is.plans).toEqual({
        cancel: plans.cancel,
        clear: {
          ...plans.clear,
          blockers: [
            ...plans.clear.blockers,
            expect.objectContaining({ id, why: expect.stringMatching(/compacted to the archive/) }),
          ],
        },
      });
    }
    expect((await client.job(second)).resultsCleared).toBe(true);
  }, 120_000);
});
