import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { startApiFarm, type ApiFarm } from '../support/api-farm.js';
import { quietLogger } from '../support/farm.js';
import { droverPiped } from '../support/session-cli.js';

const ARTIFACTS = 'test-artifacts';
const CHROMIUM = '/usr/bin/chromium';

/**
 * The overview's live sessions panel in headless Chromium against a real farm: a `drover run`
 * started by a real CLI appears with who, where and since when, without a reload, and leaves
 * the panel when its command ends.
 */
describe('dashboard: live sessions (real browser, real farm)', () => {
  let farm: ApiFarm;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    farm = await startApiFarm({ agents: 2 });
    dash = await startDashboard({ nc: farm.nc, logger: quietLogger, port: 0, coalesceMs: 100 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless=new'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dash?.stop();
    await farm?.stop();
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
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-sessions.png`, fullPage: true });
    run.child.stdin?.end('bye\n');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('bye\n');
    await page.locator('#ov-sessions').getByText('no live sessions').waitFor({ timeout: 30_000 });
  }, 90_000);
});
