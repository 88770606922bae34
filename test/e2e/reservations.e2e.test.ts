import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../src/api/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { startApiFarm, type ApiFarm } from '../support/api-farm.js';
import { quietLogger } from '../support/farm.js';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM = '/usr/bin/chromium';
const HOUR = 3_600_000;

/** The reservations page in headless Chromium against a real farm, API and dashboard. */
describe('dashboard reservations (real browser, real farm)', () => {
  let farm: ApiFarm;
  let dash: Dashboard;
  let browser: Browser;
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
    await mkdir(ARTIFACTS, { recursive: true });
    farm = await startApiFarm({ agents: 1, cpus: 2 });
    client = createApiClient(farm.nc);
    dash = await startDashboard({ nc: farm.nc, logger: quietLogger, port: 0, coalesceMs: 100 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless=new'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dash?.stop();
    await farm?.stop();
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
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-reservations.png`, fullPage: true });
  }, 60_000);
});
