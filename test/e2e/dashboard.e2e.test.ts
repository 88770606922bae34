import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../src/api/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import type { ApiFarm } from '../support/api-farm.js';
import { openBrowserPage, startDashboardFarm, type BrowserPage } from '../support/browser.js';
import { quietLogger } from '../support/farm.js';

/** Retry `f` until it resolves (the API answers again once NATS is back), for up to 20 s. */
async function retry<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Headless Chromium against a real farm: nats-server, scheduler, agents, API and dashboard. */
describe('dashboard in a real browser (real farm)', () => {
  let farm: ApiFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;
  let client: ApiClient;
  const shot = (name: string) => b.shot(`dashboard-${name}`);
  const submit = (over: Record<string, unknown>) =>
    client.submit({
      name: 'e2e',
      user: 'ada',
      command: ['sh', '-c', 'sleep 0.3'],
      memMb: 64,
      ...over,
    });

  beforeAll(async () => {
    ({ farm, dash, client } = await startDashboardFarm({ agents: 2, cpus: 2 }));
    b = await openBrowserPage({ viewport: { width: 1280, height: 900 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    // The last test restarts the dashboard: stop the one running now, then the farm.
    await dash?.stop();
    await farm?.stop();
  }, 60_000);

  it('a submitted job appears and turns succeeded without a reload', async () => {
    await page.goto(`${dash.url}/#/jobs`);
    await page.waitForSelector('#live[data-state=live]');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const { jobId } = await submit({ name: 'render', chunks: 3 });
    const state = page.locator(`tr[data-job="${jobId}"] .job-state`);
    await state.getByText('succeeded').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(
      42,
    );
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#ov-nodes tr[data-node-row="node-1"]');
    await page.waitForSelector('#ov-tp-node .uplot');
    await shot('overview');
    await page.click(`a[href="#/jobs"]`);
    await page.click(`tr[data-job="${jobId}"]`);
    await page.waitForSelector(`#job[data-id="${jobId}"]`);
    await page.waitForSelector(`.gantt [data-worker="${jobId}:0:1"]`);
    await shot('job');
  }, 45_000);

  it('a pending job shows its reasons and what would unblock them', async () => {
    const { jobId } = await submit({ name: 'too-big', cpus: 64 });
    await page.goto(`${dash.url}/#/job/${jobId}`);
    const reason = page.locator('#pending .pending-reason').first();
    await reason.waitFor({ timeout: 20_000 });
    expect(await reason.getAttribute('data-code')).toMatch(/Unsatisfiable|Resources/);
    expect(await reason.textContent()).toContain('unblock');
    await shot('pending');
    await client.cancel(jobId);
  }, 45_000);

  it("cancel's confirmation lists the whole cascade, then the job reads cancelled", async () => {
    const { jobId: parent } = await submit({ name: 'sim', command: ['sleep', '30'] });
    const kids = await Promise.all(
      [1, 2].map(
        async (i) =>
          (await submit({ name: `sim-part-${i}`, parent, command: ['sleep', '30'] })).jobId,
      ),
    );
    await page.goto(`${dash.url}/#/job/${parent}`);
    await page.waitForFunction(
      `(document.querySelector('#job')?.getAttribute('data-tree') ?? '').split(',').length === 3`,
      undefined,
      { timeout: 20_000 },
    );
    await page.click('#cancel-job');
    for (const kid of [parent, ...kids])
      await page.waitForSelector(`#plan-jobs li[data-job="${kid}"]`);
    await shot('cancel');
    await page.click('#confirm-yes');
    await page.waitForSelector('#job[data-state=cancelled]', { timeout: 30_000 });
    for (const kid of kids) expect((await client.job(kid)).state).toBe('cancelled');
  }, 50_000);

  it('after a dashboard restart (and a nats-server restart) the page shows what jobs.list says', async () => {
    await page.goto(`${dash.url}/#/jobs`);
    await page.waitForSelector('#live[data-state=live]');
    const port = dash.port;
    await dash.stop();
    await page.waitForSelector('#live[data-state=reconnecting]');
    const { jobId } = await submit({ name: 'while-down' });
    await farm.waitFor(jobId);
    dash = await startDashboard({ nc: farm.nc, logger: quietLogger, port, coalesceMs: 100 });
    await page.locator(`tr[data-job="${jobId}"] .job-state`).getByText('succeeded').waitFor();
    await farm.server.restart();
    const after = await retry(async () => (await submit({ name: 'after-nats-restart' })).jobId);
    await page
      .locator(`tr[data-job="${after}"] .job-state`)
      .getByText('succeeded')
      .waitFor({ timeout: 30_000 });
    const api = (await client.jobs({ all: true })).map((j) => [j.id, j.state]).sort();
    const shown = await page.$$eval('#jobs tbody tr', (rows) =>
      rows.map((r) => [
        r.getAttribute('data-job'),
        r.querySelector('.job-state')?.textContent?.trim(),
      ]),
    );
    expect(shown.sort()).toEqual(api);
    await shot('after-restart');
  }, 55_000);
});
