import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHistories } from '../../../bench/growth-seed.js';
import { publicState, startApiService, type ApiService } from '../../../src/api/index.js';
import { startDashboard, type Dashboard } from '../../../src/dashboard/index.js';
import { compactLog } from '../../../src/events/index.js';
import { auditPlan } from '../../../src/projections/index.js';
import { uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';
import { farmHistory } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });

/*
 * Issue 23 point 7: the dashboard's read model lets go of finished jobs after the retention (the
 * API's rules: trees and open work stay), and its job page and audit trail answer a job let go
 * of from the log (then from the archive, once compacted) with the same document. The services'
 * clock is the test's: at 0 nothing is due (the history's jobs ended in 2023), then it jumps.
 */
const RETAIN_MS = 1_000;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
let now = 0;
let api: ApiService;
let dash: Dashboard;
let tag: string;

beforeAll(async () => {
  tag = uid('D');
  const entries = farmHistory(7, { jobs: 40, users: 3, tag });
  await seedHistories(farm.nc, { events: entries.length, history: (h) => (h ? [] : entries) });
  const clock = () => now;
  api = await startApiService({
    nc: farm.nc,
    logger: quietLogger,
    readRetentionMs: RETAIN_MS,
    clock,
  });
  dash = await startDashboard({
    nc: farm.nc,
    logger: quietLogger,
    port: 0,
    readRetentionMs: RETAIN_MS,
    clock,
  });
}, 120_000);

afterAll(async () => {
  await dash?.stop();
  await api?.stop();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${dash.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A job's page and its audit trail's first page, less the feed's position (`seq`). */
async function pageOf(id: string) {
  const { status, body } = await get(`/api/jobs/${id}`);
  const { seq: _seq, ...page } = body;
  const audit = await get(`/api/jobs/${id}/audit`);
  return { status, page, audit: audit.body, auditStatus: audit.status };
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

describe("the dashboard's read model under DROVER_READ_RETENTION, on a real nats-server", () => {
  it('lets go of a finished job after the retention; its page and audit trail come from the log, then the archive', async () => {
    const model = dash.feed.model;
    // Finished jobs outside any tree: the ones the retention lets go of.
    const finished = [...model.jobs]
      .filter(
        ([id, j]) =>
          id.startsWith(tag) &&
          TERMINAL.includes(publicState(j) ?? '') &&
          j.context.spec?.parent === undefined &&
          Object.keys(j.context.children).length === 0,
      )
      .map(([id]) => id)
      .slice(0, 6);
    expect(finished.length).toBeGreaterThan(3);
    const before = new Map<string, Awaited<ReturnType<typeof pageOf>>>();
    for (const id of finished) before.set(id, await pageOf(id));
    for (const page of before.values()) {
      expect(page.status).toBe(200);
      expect((page.audit.audit as unknown[]).length).toBeGreaterThan(0);
    }
    const listed = async () =>
      new Set(((await get('/api/jobs?limit=500')).body.rows as { id: string }[]).map((r) => r.id));
    const listedBefore = await listed();
    for (const id of finished) expect(listedBefore.has(id)).toBe(true);
    const jobsBefore = model.jobs.size;
    const totalBefore = ((await get('/api/overview')).body.jobs as { total: number }).total;

    now = Date.now();
    // On the old code the feed kept every job: this never held.
    expect(await until(() => finished.every((id) => !model.jobs.has(id)), 10_000)).toBe(true);
    expect(model.jobs.size).toBeLessThan(jobsBefore);
    expect(dash.feed.retention.retired).toBeGreaterThanOrEqual(finished.length);
    // Its chunks, workers and audit index went with it.
    for (const id of finished) {
      expect([...model.chunks.keys()].some((c) => c.startsWith(`${id}:`))).toBe(false);
      expect([...model.workers.keys()].some((w) => w.startsWith(`${id}:`))).toBe(false);
      expect(auditPlan(dash.feed.audit, id).found).toBe(false);
    }
    const listedAfter = await listed();
    for (const id of finished) expect(listedAfter.has(id)).toBe(false);
    expect(((await get('/api/overview')).body.jobs as { total: number }).total).toBeLessThan(
      totalBefore,
    );

    // The page of a job let go of: the same document, read from the log on demand.
    for (const id of finished) expect(await pageOf(id)).toEqual(before.get(id));
    expect((await get(`/api/jobs/${tag}-none`)).status).toBe(404);
    expect((await get(`/api/jobs/${encodeURIComponent('x.>')}`)).status).toBe(404);

    // Compacted: the events live in the archive only; the page is still the same.
    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    expect(report.jobs).toBeGreaterThan(0);
    for (const id of finished) expect((await farm.log.read('job', id)).events).toEqual([]);
    for (const id of finished) expect(await pageOf(id)).toEqual(before.get(id));
  }, 120_000);
});
