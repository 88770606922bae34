import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../src/api/index.js';
import { MIN_CHART_MINUTES, shellQuote, type Dashboard } from '../../src/dashboard/index.js';
import type { ApiFarm } from '../support/api-farm.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';
const HOUR_S = 3600;

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Issue 21 point 9, in headless Chromium on a real farm: what a new user tripped over on the
 * dashboard (stale pending reasons, the command's quoting, OOM and cancelled bars, badges over
 * chunk labels, a 10,000 px audit list, charts of a fixed hour, the per-worker chart, a 404
 * favicon on every page).
 */
describe('dashboard: the first hour (real farm, real browser)', () => {
  let df: DashboardFarm;
  let farm: ApiFarm;
  let dash: Dashboard;
  let b: BrowserPage;
  let page: Page;
  let client: ApiClient;
  const shot = (name: string) => b.shot(`dashboard-firsthour-${name}`);
  const submit = (over: Record<string, unknown>) =>
    client.submit({ name: 'fh', user: 'ada', command: ['true'], memMb: 64, ...over });
  const openJob = async (id: string) => {
    await page.goto(`${dash.url}/#/job/${id}`);
    await page.waitForSelector(`#job[data-id="${id}"]`);
  };

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 2, cpus: 2 });
    ({ farm, dash, client } = df);
    b = await openBrowserPage({
      viewport: { width: 1280, height: 900 },
      grant: { permissions: ['clipboard-read', 'clipboard-write'], origin: dash.url },
    });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await df?.stop();
  }, 60_000);

  it('a running job shows no pending reasons; the command is a quoted line that copies', async () => {
    const { jobId: first } = await submit({ name: 'first', command: ['sleep', '1'] });
    const command = ['sh', '-c', `echo "it's $DROVER_JOB" && sleep 60`, 'a b'];
    // Waits behind `first` (a Dependency reason is noted), then runs.
    const { jobId } = await submit({ name: 'second', command, after: [first] });
    await farm.waitFor(jobId, ['running']);
    expect((await client.explain(jobId)).pending).toBeUndefined();
    await openJob(jobId);
    await page.waitForSelector('#job[data-state=running]');
    await page.waitForSelector(`.gantt [data-worker="${jobId}:0:1"].live`);
    expect(await page.locator('#pending').count()).toBe(0);
    expect(await page.locator('#job').textContent()).not.toContain('Why it is pending');
    const line = await page.locator('#command-line').textContent();
    expect(line).toBe(shellQuote(command));
    expect(line).toBe(`sh -c 'echo "it'\\''s $DROVER_JOB" && sleep 60' 'a b'`);
    await page.click('#copy-command');
    await page.getByText('Copied').waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(line);
    await shot('running');

    // Cancelled: its attempt has its own colour, not the failure colour; no reasons either.
    await client.cancel(jobId);
    await farm.waitFor(jobId, ['cancelled']);
    await page.waitForSelector('#job[data-state=cancelled]');
    await page.waitForSelector(`.gantt [data-worker="${jobId}:0:1"].cancelled`);
    expect(await page.locator('#pending').count()).toBe(0);
    const colour = (sel: string) =>
      page.evaluate<string>(
        `getComputedStyle(document.querySelector(${JSON.stringify(sel)})).backgroundColor`,
      );
    const cancelled = await colour(`.gantt [data-worker="${jobId}:0:1"]`);
    // The failure colour, from the legend (the same rule colours a failed bar).
    const failed = await colour('.legend .att-key.bad');
    expect(failed).toMatch(/^rgb/);
    expect(cancelled).not.toBe(failed);
  }, 60_000);

  it('an OOM attempt says so with its peak on its bar; badges never cover chunk labels', async () => {
    const { jobId } = await submit({
      name: 'a-long-job-name-that-used-to-wrap-under-its-badge-in-the-timeline',
      command: [
        process.execPath,
        '-e',
        'const b=[];for(let i=0;i<40;i++){b.push(Buffer.alloc(8<<20,1));}setTimeout(()=>{},5000)',
      ],
      memMb: 128,
    });
    // Killed for memory, then retried with more (POLICY): the first attempt's bar tells it.
    await farm.waitFor(jobId, undefined, 45_000);
    await openJob(jobId);
    await page.waitForSelector(`.gantt [data-worker="${jobId}:0:2"]`);
    const bar = page.locator(`.gantt [data-worker="${jobId}:0:1"]`);
    await bar.waitFor();
    const text = (await bar.textContent()) ?? '';
    const peak = Number(/^OutOfMemory, peak (\d+) MB/.exec(text)?.[1]);
    expect(text).toMatch(/^OutOfMemory, peak \d+ MB/);
    expect(peak).toBeGreaterThan(128);
    expect(await bar.getAttribute('class')).toContain('bad');
    expect(await page.locator('#pending').count()).toBe(0);
    await shot('oom');

    const badges = await page.$$eval('.gantt .job-row .state', (els) =>
      els.map((e) => e.getBoundingClientRect().toJSON() as Box),
    );
    const labels = await page.$$eval('.gantt .chunk-lbl', (els) =>
      els.map((e) => e.getBoundingClientRect().toJSON() as Box),
    );
    expect(badges.length).toBeGreaterThan(0);
    expect(labels.length).toBeGreaterThan(0);
    for (const b of badges) for (const l of labels) expect(overlaps(b, l)).toBe(false);
  }, 60_000);

  it("a big job's audit trail is paged, every event once, in log order", async () => {
    const { jobId } = await submit({ name: 'many', chunks: 40, cpus: 0.25 });
    await farm.waitFor(jobId, ['succeeded'], 60_000);
    await openJob(jobId);
    await page.waitForSelector('#audit tr[data-seq]');
    const total = Number(await page.getAttribute('#audit', 'data-total'));
    expect(total).toBeGreaterThan(150);
    const section = await page.locator('#audit-section').boundingBox();
    expect(section?.height).toBeLessThan(2500);
    const seen: number[] = [];
    for (;;) {
      const offset = await page.getAttribute('#audit', 'data-offset');
      const seqs = await page.$$eval('#audit tr[data-seq]', (rows) =>
        rows.map((r) => Number(r.getAttribute('data-seq'))),
      );
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs.length).toBeLessThanOrEqual(50);
      seen.push(...seqs);
      if (await page.locator('button[data-audit=next]').isDisabled()) break;
      await page.click('button[data-audit=next]');
      await page.waitForSelector(`#audit:not([data-offset="${offset}"])`);
    }
    expect(seen.length).toBe(total);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(new Set(seen).size).toBe(total);
    expect(await page.locator('#audit-count').textContent()).toContain(`of ${total}`);
    await page.click('button[data-audit=first]');
    await page.waitForSelector('#audit[data-offset="0"]');
    await shot('audit');
  }, 90_000);

  it("the overview's charts span the farm's data, per node; no page gets a 404", async () => {
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#ov-tp-node .uplot');
    await page.waitForSelector('#ov-tp-total .uplot');
    expect(await page.locator('#ov-tp-worker').count()).toBe(0);
    const range = {
      from: Number(await page.getAttribute('#ov-tp-node', 'data-from')),
      to: Number(await page.getAttribute('#ov-tp-node', 'data-to')),
    };
    const spanS = (range.to - range.from) / 1000;
    // This farm is minutes old: the chart spans its data, not a fixed hour.
    expect(spanS).toBeGreaterThanOrEqual((MIN_CHART_MINUTES - 1) * 60);
    expect(spanS).toBeLessThan(HOUR_S / 2);
    const xs = await page.$eval(
      '#ov-tp-node',
      (el) => (el as unknown as { _chart: { data: number[][] } })._chart.data[0] ?? [],
    );
    expect(xs[0]).toBe(range.from / 1000);
    expect(xs.at(-1)).toBe(range.to / 1000);
    await shot('overview');
    for (const hash of ['#/jobs', '#/fairshare']) {
      await page.goto(`${dash.url}/${hash}`);
      await page.waitForSelector('#live[data-state=live]');
    }
    const icon = await page.evaluate(async () => {
      const r = await fetch('/favicon.ico');
      return { status: r.status, type: r.headers.get('content-type') };
    });
    expect(icon).toEqual({ status: 200, type: 'image/svg+xml' });
    expect(await page.getAttribute('link[rel=icon]', 'href')).toBe('/static/favicon.svg');
    // Every failed response and console error of the page (the favicon check among them).
    expect(b.failures).toEqual([]);
  }, 60_000);
});
