import { jetstreamManager } from '@nats-io/jetstream';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { startDashboard } from '../src/dashboard/index.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { farmHistory } from '../test/support/projection-history.js';
import { rawReadDecode } from './replay.bench.js';
import { pipelined } from './support.js';

/**
 * `node --import tsx bench/dashboard.bench.ts`: seeds a log of 10,000 jobs × BENCH_SCALE (with
 * their chunks, workers and 40 nodes, as a farm writes them), then measures, in the same run,
 * the raw read + msgpack decode of that stream against the dashboard: server start (one tail
 * of the whole log into the read model and the projections) to the first full overview render
 * in headless Chromium. Also the first job-list page and the server's RSS. Prints one JSON
 * document.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const JOBS = 10_000 * scale;
const PER_PIECE = 2_000;

const server = await startNatsServer();
const { nc, log } = await openEventLog(server);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new'],
});
try {
  let events = 0;
  const seedStart = performance.now();
  for (let piece = 0; piece * PER_PIECE < JOBS; piece++) {
    const entries = farmHistory(piece + 1, {
      jobs: PER_PIECE,
      users: 12,
      names: 20,
      nodes: 40,
      tag: `d${piece}`,
      t0: Date.now() - 6 * 3_600_000 + piece * PER_PIECE * 2_250,
    });
    await pipelined(entries.length, 512, async (i) => {
      const x = entries[i]!;
      const r = await log.append(x.entity, x.id, [x.event]);
      if (!r.ok) throw new Error('seed conflict');
    });
    events += entries.length;
  }
  const seedMs = performance.now() - seedStart;
  const rawRate = await rawReadDecode(nc, await jetstreamManager(nc), 1, events);
  const rawReadMs = (events / rawRate) * 1000;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const dash = await startDashboard({ nc, logger: pino({ level: 'silent' }), port: 0 });
  const serverReadyMs = performance.now() - t0;
  await page.goto(`${dash.url}/#/`);
  const nodes = dash.feed.model.nodes.size;
  await page.waitForFunction(
    `document.querySelectorAll('#ov-nodes tr[data-node-row]').length === ${nodes}`,
    undefined,
    { timeout: 120_000 },
  );
  const firstRenderMs = performance.now() - t0;
  const j0 = performance.now();
  await page.goto(`${dash.url}/#/jobs`);
  await page.waitForSelector('#jobs tbody tr');
  const jobListMs = performance.now() - j0;
  const overviewBytes = (await (await fetch(`${dash.url}/api/overview`)).text()).length;
  const rssAfter = process.memoryUsage().rss;
  await dash.stop();
  console.log(
    JSON.stringify({
      jobs: dash.feed.model.jobs.size,
      nodes,
      events,
      seedMs: Math.round(seedMs),
      rawReadMs: Math.round(rawReadMs),
      serverReadyMs: Math.round(serverReadyMs),
      firstRenderMs: Math.round(firstRenderMs),
      rawOverFirstRender: +(rawReadMs / firstRenderMs).toFixed(2),
      jobListMs: Math.round(jobListMs),
      overviewBytes,
      rssMb: { before: Math.round(rssBefore / 2 ** 20), after: Math.round(rssAfter / 2 ** 20) },
    }),
  );
} finally {
  await browser.close();
  await log.close();
  await nc.close();
  await server.stop();
}
