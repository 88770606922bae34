import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard } from '../../src/dashboard/index.js';
import { drover, type ApiFarm } from '../support/api-farm.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';

/** Issue 20 point 4: the overview's panel of runbook runs in progress, in headless Chromium. */
describe('dashboard: runbook runs in progress (real farm, real browser)', () => {
  let df: DashboardFarm;
  let farm: ApiFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;
  const cli = (...args: string[]) => drover(farm.server.url, args, { DROVER_USER: 'ada' });

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 1 });
    ({ farm, dash } = df);
    b = await openBrowserPage({ viewport: { width: 1280, height: 900 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await df?.stop();
  }, 60_000);

  it('shows a run, who runs it and its steps, live, and drops it once it ends', async () => {
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#live[data-state=live]');
    await page.locator('#ov-runbooks').getByText('no runbook runs in progress').waitFor();
    // Without a terminal the run stops at its first dangerous step (drain), in progress.
    const first = await cli('runbook', 'run', 'drain-and-repair', '--arg', 'node=node-1');
    expect(first.code, first.stderr).toBe(4);
    const id = /runbook run (rb-[0-9a-f]+)/.exec(first.stderr)?.[1] ?? '';
    const run = page.locator(`#ov-runbooks .runbook[data-run="${id}"]`);
    await run.locator('li[data-step="drain"][data-status="in progress"]').waitFor();
    expect(await run.textContent()).toContain('by ada');
    expect(await run.locator('li[data-step="before"]').getAttribute('data-status')).toBe('done');
    expect(await run.locator('li[data-step="why"]').textContent()).toContain('= repair');
    expect(await run.locator('li[data-step="undrain"]').getAttribute('data-status')).toBe(
      'pending',
    );
    const done = await cli('runbook', 'resume', id, '--yes');
    expect(done.code, done.stderr).toBe(0);
    await run.waitFor({ state: 'detached' });
    await page.locator('#ov-runbooks').getByText('no runbook runs in progress').waitFor();
  }, 120_000);
});
