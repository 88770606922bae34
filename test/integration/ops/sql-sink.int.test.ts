import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyReadModel } from '../../../src/api/index.js';
import { isCorrupt, type RecordedEvent } from '../../../src/events/index.js';
import { sinkRows } from '../../../src/sql-sink/index.js';
import { startFarm, type Farm } from '../../support/farm.js';
import { appendAll } from '../../support/projection-fixture.js';
import { farmHistory } from '../../support/projection-history.js';
import { startPostgres, type TestPostgres } from '../../support/postgres.js';
import { droverArgv } from '../../support/cli-main.js';

/** `drover sql-sink --pg URL` as a real child process, logging every committed batch. */
function sink(farm: Farm, url: string): { child: ChildProcess; commits: () => number } {
  const child = spawn(
    process.execPath,
    droverArgv(['sql-sink', '--pg', url]),
    {
      env: {
        ...process.env,
        DROVER_NATS_URL: farm.server.url,
        LOG_LEVEL: 'debug',
        DROVER_SQL_SINK_BATCH: '40',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let commits = 0;
  child.stderr!.on('data', (b: Buffer) => {
    commits += b.toString().split('"msg":"batch committed"').length - 1;
  });
  return { child, commits: () => commits };
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ms = (col: string) => `round(extract(epoch from ${col}) * 1000)::float8 AS ${col}`;

/** The tables as plain rows, in key order, comparable with `sinkRows` of the whole log. */
async function tables(db: pg.Client) {
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    events: await q(
      `SELECT seq::float8 AS seq, subject, entity, entity_id AS "entityId", job_id AS "jobId", type, v,
        event_id AS "eventId", ${ms('at')}, by_kind AS "byKind", by_id AS "byId", data
       FROM events ORDER BY seq`,
    ),
    jobs: await q(
      `SELECT id, name, user_name AS "user", pool, state, priority, parent,
        round(extract(epoch from created_at) * 1000)::float8 AS "createdAt",
        round(extract(epoch from started_at) * 1000)::float8 AS "startedAt",
        round(extract(epoch from ended_at) * 1000)::float8 AS "endedAt",
        cpus, mem_mb AS "memMb", gpus, chunks, retries, command, outcome_cause AS "outcomeCause",
        outcome_message AS "outcomeMessage", results_cleared AS "resultsCleared",
        last_seq::float8 AS "lastSeq"
       FROM jobs ORDER BY id`,
    ),
    attempts: await q(
      `SELECT job_id AS "jobId", chunk, attempt, worker, node, state, cause, exit_code AS "exitCode",
        signal, peak_rss_mb AS "peakRssMb", cpu_seconds AS "cpuSeconds",
        round(extract(epoch from started_at) * 1000)::float8 AS "startedAt",
        round(extract(epoch from ended_at) * 1000)::float8 AS "endedAt"
       FROM attempts ORDER BY job_id, chunk, attempt`,
    ),
    samples: await q(
      `SELECT seq::float8 AS seq, worker, job_id AS "jobId", chunk, attempt, node, ${ms('at')},
        rss_mb AS "rssMb", peak_rss_mb AS "peakRssMb", cpu_seconds AS "cpuSeconds"
       FROM usage_samples ORDER BY seq`,
    ),
  };
}

/** What the tables must hold: the rows of the whole log folded in one batch. */
async function expected(farm: Farm) {
  const events: RecordedEvent[] = [];
  for await (const item of farm.log.replay()) if (!isCorrupt(item)) events.push(item);
  const rows = sinkRows(emptyReadModel(), events);
  const json = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
  const by =
    <T>(key: (r: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : 1;
  return json({
    events: rows.events,
    jobs: [...rows.jobs].sort(by((r) => r.id)),
    attempts: [...rows.attempts].sort(
      by(
        (r) =>
          `${r.jobId}\u0000${String(r.chunk).padStart(6, '0')}:${String(r.attempt).padStart(4, '0')}`,
      ),
    ),
    samples: rows.samples,
  });
}

describe('drover sql-sink: PostgreSQL tables from the log, exactly once', () => {
  let farm: Farm;
  let postgres: TestPostgres;
  let db: pg.Client;
  const tag = () => `s${randomUUID().slice(0, 6)}`;
  /** Yesterday: the README's queries look at the last days. */
  const t0 = Date.now() - 86_400_000;

  beforeAll(async () => {
    [farm, postgres] = await Promise.all([
      startFarm({ agents: 0, scheduler: false }),
      startPostgres(),
    ]);
    db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    await appendAll(farm.log, farmHistory(19, { jobs: 120, tag: tag(), t0 }));
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await postgres?.stop();
    await farm?.stop();
  }, 30_000);

  const position = async () => {
    const r = await db
      .query('SELECT last_seq FROM drover_sink WHERE id = 1')
      .catch(() => undefined);
    return Number(r?.rows[0]?.last_seq ?? 0);
  };

  it('killed (SIGKILL) mid-stream three times, it misses and doubles nothing, then follows the live log', async () => {
    const last = await farm.log.lastSeq();
    const kills: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = await position();
      const s = sink(farm, postgres.url);
      const exited = once(s.child, 'exit');
      // Two batches committed in this life: the third is being folded or written when it dies.
      await until(() => s.commits() >= 2, 'two commits');
      s.child.kill('SIGKILL');
      await exited;
      const at = await position();
      expect(at).toBeGreaterThan(before);
      kills.push(at);
    }
    expect(kills[2]).toBeLessThan(last); // it died before the end each time

    const s = sink(farm, postgres.url);
    try {
      await until(async () => (await position()) === last, 'the sink to catch up');
      // Live: events appended while it runs reach the tables too.
      await appendAll(farm.log, farmHistory(23, { jobs: 20, tag: tag(), t0 }));
      const now = await farm.log.lastSeq();
      await until(async () => (await position()) === now, 'the live events');
      expect(await tables(db)).toEqual(await expected(farm));
    } finally {
      const exited = once(s.child, 'exit');
      s.child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  it("runs the README's example queries; right-sizing counts the OOM-killed runs' peaks", async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const block = /## SQL sink[\s\S]*?```sql\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const queries = block
      .split(/;\s*\n/)
      .map((q) => q.trim())
      .filter((q) => q.replace(/--.*$/gm, '').trim() !== '');
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const results = [];
    for (const q of queries) results.push((await db.query(q)).rows);
    const sizing = results[0] as { name: string; peak_mb: number; oom_killed: string }[];
    expect(sizing.length).toBeGreaterThan(0);
    const oom = sizing.filter((r) => Number(r.oom_killed) > 0);
    expect(oom.length).toBeGreaterThan(0);
    // The peak of a name with OOM kills is at least the largest peak of its killed attempts.
    const { rows } = await db.query<{ name: string; peak: number }>(
      `SELECT j.name, max(a.peak_rss_mb) AS peak FROM attempts a JOIN jobs j ON j.id = a.job_id
       WHERE a.cause = 'OutOfMemory' GROUP BY j.name`,
    );
    for (const r of rows)
      expect(sizing.find((s) => s.name === r.name)!.peak_mb).toBeGreaterThanOrEqual(r.peak);
  });
});
