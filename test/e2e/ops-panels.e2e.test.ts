import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlerting, type Alerting } from '../../src/alerts/index.js';
import type { ApiClient, PromiseRow } from '../../src/api/index.js';
import type { Dashboard } from '../../src/dashboard/index.js';
import { startAgent, type Agent } from '../../src/node-agent/index.js';
import { parseAlertRules } from '../../src/policy/alerts/index.js';
import type { ApiFarm } from '../support/api-farm.js';
import {
  openBrowserPage,
  startDashboardFarm,
  type BrowserPage,
  type DashboardFarm,
} from '../support/browser.js';
import { quietLogger } from '../support/farm.js';
import { samples, valueOf } from '../support/prometheus.js';
import { swapStorm, type VmstatReplay } from '../support/vmstat-replay.js';

const ALERT = 'swapping-farm-1';

/**
 * Issue 19 point 6 and issue 18 point 7 in headless Chromium on a real farm: node-1 (a real
 * agent of 2 cpus) and two small agents reading a recorded /proc (one in a swap storm, one
 * calm), the alert evaluator, the API and the dashboard. The alerts panel shows the swapping
 * alert firing, acknowledged, then resolved by itself; the Memory page shows the numbers of the
 * agents' heartbeats; the Metrics link serves Prometheus text; the Promises page lists a kept
 * and a pending promise with the sequences that prove them. No failed response, no console
 * error.
 */
describe('dashboard: alerts, memory and swap, metrics, promises (real farm, real browser)', () => {
  let df: DashboardFarm;
  let farm: ApiFarm;
  let dash: Dashboard;
  let client: ApiClient;
  let b: BrowserPage;
  let page: Page;
  let alerting: Alerting;
  let storm: VmstatReplay;
  const agents: Agent[] = [];

  beforeAll(async () => {
    df = await startDashboardFarm({ agents: 1, cpus: 2 });
    ({ farm, dash, client } = df);
    const played = await swapStorm();
    storm = played.storm;
    for (const [node, sources] of [
      ['swapper', storm.sources],
      ['steady', played.quiet.sources],
    ] as const) {
      agents.push(
        await startAgent({
          nc: farm.nc,
          eventLog: farm.log,
          node,
          // One cpu: the promised jobs below (2 cpus) only fit node-1.
          capacity: { cpus: 1, memMb: 512, gpus: 0, hostname: node },
          stateDir: join(farm.dataDir, 'agents', node),
          logger: quietLogger,
          heartbeatMs: 200,
          nodeSources: sources,
          nodeSampleMs: 250,
        }),
      );
    }
    const parsed = parseAlertRules({
      rules: {
        swapping: { share: 0.2, pagesPerSecond: 100, for: '1s', clearFor: '1s' },
        'queue-wait': { enabled: false },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    alerting = startAlerting({
      nc: farm.nc,
      eventLog: farm.log,
      live: farm.api.live,
      loaded: { ...parsed, source: 'test' },
      logger: quietLogger,
      intervalMs: 200,
    });
    b = await openBrowserPage({ viewport: { width: 1280, height: 1000 } });
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await alerting?.stop();
    await Promise.all(agents.map((a) => a.stop('terminate').catch(() => undefined)));
    await df?.stop();
  }, 60_000);

  it('the alerts panel shows the swap alert firing, its ack, then resolved by itself', async () => {
    await page.goto(`${dash.url}/#/`);
    await page.waitForSelector('#live[data-state=live]');
    const row = page.locator(`#ov-alerts tr[data-alert="${ALERT}"]`);
    await page.waitForSelector(`#ov-alerts tr[data-alert="${ALERT}"][data-state=firing]`, {
      timeout: 60_000,
    });
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[0]).toBe('firing');
    expect(cells[1]).toBe('swapping');
    expect(cells[2]).toBe('farm');
    expect(cells[3]).toMatch(/\d/); // since: a time
    expect(cells[4]).toBe('–'); // not resolved
    expect(cells[5]).toContain('1 of 3 nodes swapping (33.3%; fires above 20%)');
    expect(await row.locator('pre.alert-details').textContent()).toContain('"node":"swapper"');
    expect(cells[6]).toBe('not acknowledged');

    await client.alertAck(ALERT, { note: 'looking', by: 'ops' });
    await page.waitForSelector(`#ov-alerts tr[data-alert="${ALERT}"][data-acked=true]`);
    expect(await row.locator('td').nth(6).textContent()).toMatch(/acked by .*ops.*: looking/);

    storm.calm();
    await page.waitForSelector(`#ov-alerts tr[data-alert="${ALERT}"][data-state=resolved]`, {
      timeout: 60_000,
    });
    const resolved = (await client.alerts({ all: true })).find((a) => a.id === ALERT);
    expect(resolved?.state).toBe('resolved');
    expect(await row.locator('td').nth(4).locator('time').getAttribute('datetime')).toBe(
      resolved?.resolvedAt,
    );
    expect(await row.locator('td').nth(5).textContent()).toContain('0 of 3 nodes swapping');
    await b.shot('dashboard-alerts');
  }, 150_000);

  it("the Memory page shows each node's memory and swap as its heartbeat carried them", async () => {
    await page.click('a[href="#/nodes"]');
    const swapper = page.locator('#memory tr[data-node="swapper"][data-mem-total]');
    await swapper.waitFor();
    // The dashboard's reading is the one the API's read model got from the same heartbeats.
    const reading = farm.api.live.model.heartbeats.get('swapper')?.reading;
    expect(reading?.memTotalBytes).toBe(16_384_000 * 1024);
    const attr = async (name: string) => Number(await swapper.getAttribute(name));
    expect(await attr('data-mem-total')).toBe(reading?.memTotalBytes);
    expect(await attr('data-mem-used')).toBe(
      (reading?.memTotalBytes ?? 0) - (reading?.memAvailableBytes ?? 0),
    );
    expect(await attr('data-swap-used')).toBe((8_388_604 - 2_101_880) * 1024);
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
    expect(await swapper.locator('.mem-text').textContent()).toBe(
      `${gib(await attr('data-mem-used'))} / ${gib(16_384_000 * 1024)}`,
    );
    // Calm by now: the last reading moves no page.
    expect(await swapper.locator('.swap-in').textContent()).toBe('0/s');
    await page.locator('#memory tr[data-node="steady"][data-mem-total]').waitFor();
    await page.locator('#memory tr[data-node="node-1"]').waitFor();
    // The charts cover the recent window: the storm's readings are in the swap chart's data.
    await page.waitForSelector('#mem-chart .uplot');
    await page.waitForSelector('#swap-chart .uplot');
    const peak = await page.$eval('#swap-chart', (el) => {
      const u = (el as unknown as { _chart: { data: (number | null)[][] } })._chart;
      return Math.max(...u.data.slice(1).flatMap((s) => s.map((v) => v ?? 0)));
    });
    expect(peak).toBeGreaterThan(1000);
    await b.shot('dashboard-memory');
  }, 60_000);

  it('the Metrics link serves the farm in Prometheus text', async () => {
    const href = await page.getAttribute('#metrics-link', 'href');
    expect(href).toBe('/metrics');
    const [res] = await Promise.all([
      page.waitForResponse('**/metrics'),
      page.click('#metrics-link'),
    ]);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    // Every line parses as a sample or a comment (samples() throws on anything else).
    expect(samples(text).length).toBeGreaterThan(0);
    expect(valueOf(text, 'drover_farm_nodes')).toBe(3);
    await page.goBack();
  }, 60_000);

  it('the Promises page lists a kept and a pending promise with their proof sequences', async () => {
    const promised = (startBy: string, timeoutS: number, command: string[]) =>
      client.submit({ name: 'promised', user: 'ada', command, cpus: 2, timeoutS, startBy });
    const kept = await promised('+10m', 60, ['true']);
    const filler = await client.submit({
      name: 'filler',
      user: 'bob',
      command: ['sleep', '600'],
      cpus: 2,
      timeoutS: 120,
    });
    await farm.waitFor(filler.jobId, ['running']);
    // Booked when the filler's time limit ends; it waits until then.
    const pending = await promised('+10m', 30, ['true']);
    // Refused at submit (node-1 is busy for two minutes): nothing recorded, not listed.
    await expect(promised('+30s', 30, ['true'])).rejects.toMatchObject({ code: 'REFUSED' });
    const api = async () =>
      (await client.call<{ promises: PromiseRow[] }>('promises', {})).promises;
    for (let i = 0; (await api()).find((p) => p.jobId === kept.jobId)?.state !== 'kept'; i++) {
      if (i > 600) throw new Error('the promise was never kept');
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.click('a[href="#/promises"]');
    const keptRow = page.locator(`#promises tr[data-job="${kept.jobId}"][data-state=kept]`);
    await keptRow.waitFor();
    const pendingRow = page.locator(
      `#promises tr[data-job="${pending.jobId}"][data-state=pending]`,
    );
    await pendingRow.waitFor();
    expect(await page.locator('#promises tbody tr').count()).toBe(2);
    const rows = await api();
    const k = rows.find((p) => p.jobId === kept.jobId)!;
    const p = rows.find((r) => r.jobId === pending.jobId)!;
    expect(await keptRow.getAttribute('data-accepted-seq')).toBe(String(k.proof.acceptedSeq));
    expect(await keptRow.getAttribute('data-started-seq')).toBe(String(k.proof.startedSeq));
    expect(await keptRow.locator('.started-seq').textContent()).toBe(String(k.proof.startedSeq));
    const keptCells = await keptRow.locator('td').allInnerTexts();
    expect(keptCells.slice(0, 5)).toEqual([kept.jobId, 'ada', 'promised', k.startBy, 'kept']);
    expect(keptCells[5]).toBe(k.startedAt);
    expect(await pendingRow.getAttribute('data-accepted-seq')).toBe(String(p.proof.acceptedSeq));
    expect(await pendingRow.getAttribute('data-started-seq')).toBe('');
    expect(await pendingRow.locator('.started-seq').textContent()).toBe('–');
    expect(await pendingRow.locator('.preempted').textContent()).toBe('–');
    await b.shot('dashboard-promises');
    for (const id of [pending.jobId, filler.jobId]) await client.cancel(id);
    for (const id of [kept.jobId, pending.jobId, filler.jobId]) await farm.waitFor(id);
    expect(b.failures).toEqual([]);
  }, 120_000);
});
