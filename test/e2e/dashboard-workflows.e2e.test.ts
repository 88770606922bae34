import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, RunView } from '../../src/api/index.js';
import type { Dashboard } from '../../src/dashboard/index.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';
const NAME = 'nightly';

/** A small workflow: a → (b, c), with a daily schedule far from now so only the trigger runs. */
const WORKFLOW = {
  name: NAME,
  schedule: { cron: '0 6 * * *', timezone: 'America/New_York', catchup: 'none' },
  tasks: [
    { id: 'extract', command: ['sh', '-c', 'sleep 0.5'] },
    { id: 'transform', after: ['extract'], command: ['sh', '-c', 'sleep 0.3'] },
    { id: 'report', after: ['extract'], command: ['true'] },
  ],
};

/** Poll `f` until it returns a value (generous bound: the machine may be heavily loaded). */
async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Headless Chromium on the workflows page against a real farm (scheduler with its timekeeper). */
describe('dashboard workflows page in a real browser (real farm)', () => {
  let df: DashboardFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;
  let client: ApiClient;
  const shot = (name: string) => b.shot(`dashboard-workflows-${name}`);

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 2, cpus: 4 });
    ({ dash, client } = df);
    b = await openBrowserPage({ viewport: { width: 1280, height: 1000 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await df?.stop();
  }, 60_000);

  it('lists the workflow with its next fires; a trigger confirmed names its date and runs', async () => {
    expect(await client.call('workflow.apply', { workflow: WORKFLOW })).toMatchObject({
      name: NAME,
      version: 1,
    });
    const { next } = await client.call<{ next: string[] }>('workflow.next', {
      name: NAME,
      count: 3,
    });
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#live[data-state=live]');
    await page.click('a[href="#/workflows"]');
    const row = page.locator(`#workflows tr[data-workflow="${NAME}"]`);
    await row.waitFor();
    expect(await row.locator('ul.wf-next time').allTextContents()).toEqual(next);

    await page.click(`a[href="#/workflow/${NAME}"]`);
    await page.waitForSelector(`#workflow[data-name="${NAME}"]`);
    expect(await page.locator('#wf-next time').first().textContent()).toBe(next[0]);
    const trigger = page.locator('#wf-head .wf-trigger');
    const date = await trigger.getAttribute('data-date');
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await trigger.click();
    const what = await page.locator('#confirm-what').textContent();
    expect(what).toContain(`${NAME}@${date}`);
    expect(what).toContain(`logical date ${date}`);
    await shot('trigger-confirm');
    await page.click('#confirm-yes');
    const run = `${NAME}@${date}`;

    const done = await until(async () => {
      const { runs } = await client.call<{ runs: RunView[] }>('runs.list', { name: NAME });
      const r = runs.find((x) => x.run === run);
      return r && ['succeeded', 'failed'].includes(r.state) ? r : undefined;
    }, `run ${run} to end`);
    expect(done.state).toBe('succeeded');
    expect(done.tasks.map((t) => t.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    // The grid shows the run with each task's state, each cell linking to the task's job.
    const gridRow = page.locator(`#wf-grid tr[data-run="${run}"][data-state=succeeded]`);
    await gridRow.waitFor({ timeout: 30_000 });
    expect(await page.locator('#wf-grid thead .wf-task').allTextContents()).toEqual([
      'extract',
      'transform',
      'report',
    ]);
    for (const t of done.tasks) {
      const cell = gridRow.locator(`td.cell[data-task="${t.task}"]`);
      expect(await cell.getAttribute('data-state')).toBe(t.state);
      expect(await cell.locator('a').getAttribute('href')).toBe(`#/job/${t.jobId}`);
    }
    // The run's Gantt has a bar per task.
    await page.waitForSelector(`#wf-gantt-bars[data-run="${run}"]`);
    for (const t of done.tasks)
      await page.waitForSelector(`#wf-gantt-bars [data-gantt-task="${t.task}"] [data-bar]`);
    expect(await page.locator('#wf-gantt-bars [data-bar]').count()).toBe(3);
    await page.waitForSelector('#wf-durations .uplot');
    await page.waitForSelector('#wf-landing .uplot');
    await shot('page');

    // A cell leads to the task's job page.
    const extract = done.tasks[0]!;
    await gridRow.locator('td.cell[data-task="extract"] a').click();
    await page.waitForSelector(`#job[data-id="${extract.jobId}"]`);
  }, 120_000);

  it('pause asks first, saying what it does; once confirmed the API reports it paused', async () => {
    await page.goto(`${dash.url}/#/workflow/${NAME}`);
    await page.waitForSelector(`#workflow[data-name="${NAME}"][data-paused=false]`);
    await page.click('#wf-head .wf-pause');
    const what = await page.locator('#confirm-what').textContent();
    expect(what).toContain('fires no new');
    expect(what).toContain('catchup: none');
    await page.click('#confirm-no');
    const listed = async () =>
      (await client.call<{ workflows: { name: string; paused: boolean }[] }>('workflow.list', {}))
        .workflows;
    expect((await listed()).find((w) => w.name === NAME)?.paused).toBe(false);

    await page.click('#wf-head .wf-pause');
    await page.click('#confirm-yes');
    await until(
      async () => ((await listed()).find((w) => w.name === NAME)?.paused ? true : undefined),
      'the API to report the workflow paused',
    );
    await page.waitForSelector(`#workflow[data-paused=true]`, { timeout: 30_000 });
    await page.waitForSelector('#wf-head .wf-resume');
    await shot('paused');
  }, 60_000);
});
