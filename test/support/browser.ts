import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createApiClient, type ApiClient } from '../../src/api/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { startApiFarm, type ApiFarm } from './api-farm.js';
import { quietLogger, type FarmOptions } from './farm.js';

/** Debian's Chromium: playwright-core drives it, no browser download. */
export const CHROMIUM = '/usr/bin/chromium';
/** Where the e2e tests leave their screenshots (for a person to look at, not compared). */
export const ARTIFACTS = 'test-artifacts';

/** One headless Chromium page, with every failed response and console error it saw. */
export interface BrowserPage {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** `STATUS url` of each response >= 400 and `console: text` of each console error, in order. */
  readonly failures: string[];
  /** A full-page screenshot at `test-artifacts/<name>.png`. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserPageOptions {
  readonly viewport: { width: number; height: number };
  /** Permissions granted on `origin` (the clipboard for the copy button). */
  readonly grant?: { permissions: string[]; origin: string };
}

/**
 * Start headless Chromium with one page, collecting failed responses and console errors (a
 * test that should see none asserts `failures` is empty).
 */
export async function openBrowserPage(opts: BrowserPageOptions): Promise<BrowserPage> {
  await mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless=new'],
  });
  try {
    const context = await browser.newContext({ viewport: opts.viewport });
    if (opts.grant) await context.grantPermissions(opts.grant.permissions, opts.grant);
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') failures.push(`console: ${m.text()}`);
    });
    return {
      browser,
      context,
      page,
      failures,
      shot: async (name) => {
        await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** A real farm with the API and a dashboard on it (any free port, pushes every 100 ms). */
export interface DashboardFarm {
  readonly farm: ApiFarm;
  readonly dash: Dashboard;
  readonly client: ApiClient;
  stop(): Promise<void>;
}

/** Start a farm (`startApiFarm(opts)`) and a dashboard reading it. */
export async function startDashboardFarm(opts: FarmOptions = {}): Promise<DashboardFarm> {
  const farm = await startApiFarm(opts);
  try {
    const dash = await startDashboard({
      nc: farm.nc,
      logger: quietLogger,
      port: 0,
      coalesceMs: 100,
    });
    return {
      farm,
      dash,
      client: createApiClient(farm.nc),
      async stop() {
        await dash.stop();
        await farm.stop();
      },
    };
  } catch (err) {
    await farm.stop();
    throw err;
  }
}
