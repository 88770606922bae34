import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../src/api/index.js';
import type { Dashboard } from '../../src/dashboard/index.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';

const HOUR = 3_600_000;

/** The reservations page in headless Chromium against a real farm, API and dashboard. */
describe('dashboard reservations (real browser, real farm)', () => {
  let df: DashboardFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;
  let client: ApiClient;
  const create = (name: string, startIn: number, flags: string[] = []) => {
    const start = Date.now() + startIn;
    return client.call('reservation.create', {
      name,
      start: new Date(start).toISOString(),
      end: new Date(start + 2 * HOUR).toISOString(),
      nodes: ['node-1'],
      users: ['ada'],
      flags,
      by: 'ops',
    });
  };

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 1, cpus: 2 });
    ({ dash, client } = df);
    b = await openBrowserPage({ viewport: { width: 1280, height: 700 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await df?.stop();
  }, 60_000);

  it('shows each window on the week timeline and in the table, new ones without a reload', async () => {
    // node-1 must be known to the API before a reservation may name it.
    for (let i = 0; (await client.nodes()).length === 0; i++) {
      if (i > 400) throw new Error('node-1 never registered');
      await new Promise((r) => setTimeout(r, 50));
    }
    await create('render-week', 2 * HOUR);
    await create('nightly', 3 * HOUR, ['daily', 'maint']);
    await page.goto(`${dash.url}/#/reservations`);
    await page.waitForSelector('#live[data-state=live]');
    await page.waitForSelector('#reservations tr[data-name="nightly"]', { timeout: 20_000 });
    expect(await page.locator('.res-line[data-name="render-week"] .res-bar').count()).toBe(1);
    // A daily window repeats across the week: seven occurrences start within it.
    expect(await page.locator('.res-line[data-name="nightly"] .res-bar').count()).toBe(7);
    const row = page.locator('#reservations tr[data-name="render-week"]');
    expect(await row.textContent()).toContain('waiting');
    expect(await row.textContent()).toContain('node-1');

    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));
    await create('late', 5 * HOUR);
    await page.waitForSelector('.res-line[data-name="late"] .res-bar', { timeout: 20_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(
      7,
    );
    await b.shot('dashboard-reservations');
  }, 60_000);
});
