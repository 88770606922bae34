import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import type { Registry } from 'prom-client';
import {
  createApiClient,
  createApiMetrics,
  emptyReadModel,
  applyEvent,
  startApiService,
} from '../src/api/index.js';
import { startDashboard } from '../src/dashboard/index.js';
import { isCorrupt, type RecordedEvent } from '../src/events/index.js';
import { processRegistry, serveMetrics, serviceRegistry } from '../src/metrics/index.js';
import { createAgentMetrics } from '../src/node-agent/index.js';
import { createSchedulerMetrics } from '../src/scheduler/main.js';
import {
  SCHEMA,
  SINK_COLUMNS,
  createPgSinkStore,
  sinkRows,
  startSqlSink,
  type SinkColumn,
  type SinkRows,
} from '../src/sql-sink/index.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { startPostgres } from '../test/support/postgres.js';
import { seedFarm } from './projections.bench.js';
import { medianGet } from './support.js';

/**
 * `node --import tsx bench/ops.bench.ts`: seeds 40,000 × BENCH_SCALE plausible farm events, then
 * in the same run (1) the SQL sink from an empty database to caught up, in rows per second
 * (rows of all four tables), against a raw `COPY ... FROM STDIN` of the same rows into the same
 * schema (indexes included) in a fresh database; (2) the scrape time of each /metrics page
 * (dashboard with the farm gauges of that log, scheduler, API, agents), median of 20 scrapes.
 * Prints one JSON document.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const EVENTS = Math.round(40_000 * scale);
const logger = pino({ level: 'silent' });

/** `COPY table FROM STDIN` of `text` (the text format), through pg's own connection. */
function copyIn(client: pg.Client, sql: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed: Error | undefined;
    const submittable = {
      submit(connection: { query(text: string): void }) {
        connection.query(sql);
      },
      handleCopyInResponse(connection: {
        sendCopyFromChunk(b: Buffer): void;
        endCopyFrom(): void;
      }) {
        const buf = Buffer.from(text);
        for (let at = 0; at < buf.length; at += 1 << 20)
          connection.sendCopyFromChunk(buf.subarray(at, at + (1 << 20)));
        connection.endCopyFrom();
      },
      handleCommandComplete() {},
      handleError(err: Error) {
        failed = err;
      },
      handleReadyForQuery() {
        if (failed) reject(failed);
        else resolve();
      },
    };
    client.query(submittable as never);
  });
}

/** A value in COPY's text format (\N for null, escapes for tab, newline, backslash). */
const cell = (v: unknown): string =>
  v === null || v === undefined
    ? '\\N'
    : String(v)
        .replace(/\\/g, '\\\\')
        .replace(/\t/g, '\\t')
        .replace(/\n/g, '\\n')
        .replace(/\r/g, '\\r');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** COPY text of `rows` in the sink's columns (times as ISO, as the sink's to_timestamp stores them). */
const lines = <T>(rows: readonly T[], cols: readonly SinkColumn<T>[]) =>
  rows
    .map((r) =>
      cols.map((c) => cell(c.time ? iso(c.get(r) as number | null) : c.get(r))).join('\t'),
    )
    .join('\n') + (rows.length ? '\n' : '');

/** `COPY <table> (<the sink's columns>) FROM STDIN` of the rows: the raw ceiling of the sink. */
const copyTable = <T>(
  client: pg.Client,
  table: string,
  rows: readonly T[],
  cols: readonly SinkColumn<T>[],
) =>
  copyIn(
    client,
    `COPY ${table} (${cols.map((c) => c.name).join(', ')}) FROM STDIN`,
    lines(rows, cols),
  );

async function rawCopy(client: pg.Client, rows: SinkRows): Promise<number> {
  await client.query(SCHEMA);
  const t0 = performance.now();
  await client.query('BEGIN');
  await copyTable(client, 'events', rows.events, SINK_COLUMNS.events);
  await copyTable(client, 'jobs', rows.jobs, SINK_COLUMNS.jobs);
  await copyTable(client, 'attempts', rows.attempts, SINK_COLUMNS.attempts);
  await copyTable(client, 'usage_samples', rows.samples, SINK_COLUMNS.samples);
  await client.query('COMMIT');
  return (performance.now() - t0) / 1000;
}

const count = (r: SinkRows) =>
  r.events.length + r.jobs.length + r.attempts.length + r.samples.length;

async function database(url: string, name: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const client = new pg.Client({ connectionString: url.replace(/\/postgres$/, `/${name}`) });
  await client.connect();
  return client;
}

/** Median time (ms) of 20 GETs of `url` after one warm-up, and the page's size. */
async function scrapeTime(url: string): Promise<{ ms: number; bytes: number; series: number }> {
  const { ms, body } = await medianGet(url);
  const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
  return { ms: Math.round(ms * 100) / 100, bytes: body.length, series };
}

async function served(registry: Registry) {
  return serveMetrics({ registry, port: 0, host: '127.0.0.1', logger });
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const postgres = await startPostgres();
  const { nc, log } = await openEventLog(server);
  try {
    await seedFarm(log, EVENTS);
    const last = await log.lastSeq();
    const events: RecordedEvent[] = [];
    for await (const item of log.replay()) if (!isCorrupt(item)) events.push(item);
    const rows = sinkRows(emptyReadModel(), events);

    // (1) the sink, end to end (tail, fold, transactions), then a raw COPY of the same rows.
    const sinkDb = await database(postgres.url, 'bench_sink');
    const t0 = performance.now();
    const sink = await startSqlSink({ eventLog: log, store: createPgSinkStore(sinkDb), logger });
    await sink.caughtUp(last);
    const sinkS = (performance.now() - t0) / 1000;
    await sink.stop();
    const copyDb = await database(postgres.url, 'bench_copy');
    const copyS = await rawCopy(copyDb, rows);
    const tableRows = async (c: pg.Client) =>
      Number(
        (
          await c.query(
            'SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM attempts) + (SELECT count(*) FROM usage_samples) AS n',
          )
        ).rows[0].n,
      );
    const [sinkRowsN, copyRowsN] = [await tableRows(sinkDb), await tableRows(copyDb)];
    if (sinkRowsN !== count(rows) || copyRowsN !== count(rows))
      throw new Error(`rows differ: sink ${sinkRowsN}, copy ${copyRowsN}, fold ${count(rows)}`);
    await sinkDb.end();
    await copyDb.end();

    // (2) scrape time of each page, on this log.
    const model = emptyReadModel();
    for (const e of events) applyEvent(model, e);
    const dashboard = await startDashboard({
      nc,
      logger,
      port: 0,
      registries: [processRegistry()],
    });
    while (dashboard.feed.model.seq < last) await new Promise((r) => setTimeout(r, 50));
    const schedulerRegistry = serviceRegistry();
    const scheduler = createSchedulerMetrics(schedulerRegistry);
    scheduler.watchJobs((id) => model.jobs.get(id));
    for (const e of events) scheduler.applied(e.recorded.seq, e, true);
    const pending = new Map(
      [...model.jobs.keys()].map((id) => [
        id,
        { reasons: [{ code: 'Resources' as never, message: '', unblock: '' }] },
      ]),
    );
    scheduler.round(0.001, pending, (id) => model.jobs.get(id));
    scheduler.watchHead(() => log.lastSeq());
    const apiRegistry = serviceRegistry();
    const api = await startApiService({ nc, logger, metrics: createApiMetrics(apiRegistry) });
    const client = createApiClient(nc);
    for (const id of [...model.jobs.keys()].slice(0, 300)) await client.job(id);
    await client.job('missing').catch(() => undefined);
    await client.jobs({ all: true }).catch(() => undefined);
    const agentRegistry = serviceRegistry();
    const agents = createAgentMetrics(agentRegistry);
    for (const node of ['node-1', 'node-2']) {
      const m = agents.forNode(node, () => 3);
      m.launched();
      m.exited('Succeeded');
      m.exited('OutOfMemory');
      m.sampled({ swapInPerSecond: 0, swapOutPerSecond: 0, load: [1, 1, 1] });
    }
    const pages = {
      scheduler: await served(schedulerRegistry),
      api: await served(apiRegistry),
      agents: await served(agentRegistry),
    };
    const scrapes = {
      dashboard: await scrapeTime(`${dashboard.url}/metrics`),
      scheduler: await scrapeTime(pages.scheduler.url),
      api: await scrapeTime(pages.api.url),
      agents: await scrapeTime(pages.agents.url),
    };
    for (const p of Object.values(pages)) await p.stop();
    await api.stop();
    await dashboard.stop();

    console.log(
      JSON.stringify(
        {
          events: events.length,
          jobs: model.jobs.size,
          sqlSink: {
            rows: count(rows),
            sinkSeconds: Math.round(sinkS * 100) / 100,
            sinkRowsPerS: Math.round(count(rows) / sinkS),
            copySeconds: Math.round(copyS * 100) / 100,
            copyRowsPerS: Math.round(count(rows) / copyS),
            ratio: Math.round((copyS / sinkS) * 100) / 100,
          },
          scrapeMs: scrapes,
        },
        null,
        2,
      ),
    );
  } finally {
    await log.close();
    await nc.close();
    await postgres.stop();
    await server.stop();
  }
}

await main();
