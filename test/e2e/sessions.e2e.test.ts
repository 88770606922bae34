import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard } from '../../src/dashboard/index.js';
import type { ApiFarm } from '../support/api-farm.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';
import { droverPiped } from '../support/session-cli.js';

/**
 * The overview's live sessions panel in headless Chromium against a real farm: a `drover run`
 * started by a real CLI appears with who, where and since when, without a reload, and leaves
 * the panel when its command ends.
 */
describe('dashboard: live sessions (real browser, real farm)', () => {
  let df: DashboardFarm;
  let farm: ApiFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 2 });
    ({ farm, dash } = df);
    b = await openBrowserPage({ viewport: { width: 1280, height: 1200 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await df?.stop();
  }, 60_000);

  it('a running session shows who, where, since when; it leaves when it ends', async () => {
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#live[data-state=live]');
    await page.locator('#ov-sessions').getByText('no live sessions').waitFor();
    // stdin stays open: the remote `head -n 1` waits for the line the test sends at the end.
    const run = droverPiped(farm.server.url, ['run', '--', 'head', '-n', '1']);
    const row = page.locator('#ov-sessions tr[data-session]');
    await row.locator('td', { hasText: /^node-[12]$/ }).waitFor({ timeout: 30_000 });
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[1]).toBe(process.env.DROVER_USER ?? (await import('node:os')).userInfo().username);
    expect(cells[3]).toMatch(/\d/); // since: a time
    expect(cells[4]).toBe('running');
    expect(cells[6]).toBe('head -n 1');
    await b.shot('dashboard-sessions');
    run.child.stdin?.end('bye\n');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('bye\n');
    await page.locator('#ov-sessions').getByText('no live sessions').waitFor({ timeout: 30_000 });
  }, 90_000);
});
