import type { ClientBase } from 'pg';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import type { SinkRows } from './sink-rows.js';
import { SINK_COLUMNS, type SinkColumn } from './sink-columns.js';

/**
 * The tables, their indexes and the sink's position. Idempotent (`IF NOT EXISTS`), so every
 * start runs it. Indexes answer the obvious questions: a user's or a job name's jobs over time,
 * jobs by state, attempts by node or cause over time, a job's events and samples in order.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS drover_sink (
  id int PRIMARY KEY CHECK (id = 1),
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO drover_sink (id, last_seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS events (
  seq bigint PRIMARY KEY,
  subject text NOT NULL,
  entity text NOT NULL,
  entity_id text NOT NULL,
  job_id text,
  type text NOT NULL,
  v int NOT NULL,
  event_id text NOT NULL,
  at timestamptz NOT NULL,
  by_kind text NOT NULL,
  by_id text NOT NULL,
  data jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job_seq ON events (job_id, seq);
CREATE INDEX IF NOT EXISTS events_type_at ON events (type, at);
CREATE INDEX IF NOT EXISTS events_entity_seq ON events (entity, entity_id, seq);
CREATE TABLE IF NOT EXISTS jobs (
  id text PRIMARY KEY,
  name text NOT NULL,
  user_name text NOT NULL,
  pool text NOT NULL,
  state text NOT NULL,
  priority int NOT NULL,
  parent text,
  created_at timestamptz,
  started_at timestamptz,
  ended_at timestamptz,
  cpus double precision NOT NULL,
  mem_mb int NOT NULL,
  gpus int NOT NULL,
  chunks int NOT NULL,
  retries int NOT NULL,
  command jsonb NOT NULL,
  outcome_cause text,
  outcome_message text,
  results_cleared boolean NOT NULL,
  last_seq bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_user_created ON jobs (user_name, created_at);
CREATE INDEX IF NOT EXISTS jobs_name_created ON jobs (name, created_at);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent) WHERE parent IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
  job_id text NOT NULL,
  chunk int NOT NULL,
  attempt int NOT NULL,
  worker text NOT NULL,
  node text NOT NULL,
  state text NOT NULL,
  cause text,
  exit_code int,
  signal text,
  peak_rss_mb double precision,
  cpu_seconds double precision,
  started_at timestamptz,
  ended_at timestamptz,
  PRIMARY KEY (job_id, chunk, attempt)
);
CREATE INDEX IF NOT EXISTS attempts_node_started ON attempts (node, started_at);
CREATE INDEX IF NOT EXISTS attempts_cause_ended ON attempts (cause, ended_at);
CREATE TABLE IF NOT EXISTS usage_samples (
  seq bigint PRIMARY KEY,
  worker text NOT NULL,
  job_id text NOT NULL,
  chunk int NOT NULL,
  attempt int NOT NULL,
  node text,
  at timestamptz NOT NULL,
  rss_mb double precision NOT NULL,
  peak_rss_mb double precision NOT NULL,
  cpu_seconds double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_samples_job_at ON usage_samples (job_id, at);
`;

/** Epoch ms as a timestamptz parameter (null stays null). */
const ts = 'to_timestamp(x / 1000.0)';
const time = (col: string) => ts.replace('x', col);

const INSERT_EVENTS = `
INSERT INTO events (seq, subject, entity, entity_id, job_id, type, v, event_id, at, by_kind, by_id, data)
SELECT seq, subject, entity, entity_id, job_id, type, v, event_id, ${time('at_ms')}, by_kind, by_id, data::jsonb
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
  $8::text[], $9::float8[], $10::text[], $11::text[], $12::text[])
  AS t(seq, subject, entity, entity_id, job_id, type, v, event_id, at_ms, by_kind, by_id, data)`;

const UPSERT_JOBS = `
INSERT INTO jobs (id, name, user_name, pool, state, priority, parent, created_at, started_at, ended_at,
  cpus, mem_mb, gpus, chunks, retries, command, outcome_cause, outcome_message, results_cleared, last_seq)
SELECT id, name, user_name, pool, state, priority, parent, ${time('c')}, ${time('s')}, ${time('e')},
  cpus, mem_mb, gpus, chunks, retries, command::jsonb, outcome_cause, outcome_message, results_cleared, last_seq
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
  $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::int[], $13::int[], $14::int[],
  $15::int[], $16::text[], $17::text[], $18::text[], $19::bool[], $20::bigint[])
  AS t(id, name, user_name, pool, state, priority, parent, c, s, e, cpus, mem_mb, gpus, chunks,
    retries, command, outcome_cause, outcome_message, results_cleared, last_seq)
ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, priority = EXCLUDED.priority,
  started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
  outcome_cause = EXCLUDED.outcome_cause, outcome_message = EXCLUDED.outcome_message,
  results_cleared = EXCLUDED.results_cleared, last_seq = EXCLUDED.last_seq`;

const UPSERT_ATTEMPTS = `
INSERT INTO attempts (job_id, chunk, attempt, worker, node, state, cause, exit_code, signal,
  peak_rss_mb, cpu_seconds, started_at, ended_at)
SELECT job_id, chunk, attempt, worker, node, state, cause, exit_code, signal, peak_rss_mb,
  cpu_seconds, ${time('s')}, ${time('e')}
FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
  $8::int[], $9::text[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
  AS t(job_id, chunk, attempt, worker, node, state, cause, exit_code, signal, peak_rss_mb,
    cpu_seconds, s, e)
ON CONFLICT (job_id, chunk, attempt) DO UPDATE SET state = EXCLUDED.state, cause = EXCLUDED.cause,
  exit_code = EXCLUDED.exit_code, signal = EXCLUDED.signal, peak_rss_mb = EXCLUDED.peak_rss_mb,
  cpu_seconds = EXCLUDED.cpu_seconds, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at`;

const INSERT_SAMPLES = `
INSERT INTO usage_samples (seq, worker, job_id, chunk, attempt, node, at, rss_mb, peak_rss_mb, cpu_seconds)
SELECT seq, worker, job_id, chunk, attempt, node, ${time('at_ms')}, rss_mb, peak_rss_mb, cpu_seconds
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::float8[],
  $8::float8[], $9::float8[], $10::float8[])
  AS t(seq, worker, job_id, chunk, attempt, node, at_ms, rss_mb, peak_rss_mb, cpu_seconds)`;

/** Columns of `rows` as arrays, in the table's column order (unnest takes one array each). */
function columns<T>(rows: readonly T[], cols: readonly SinkColumn<T>[]): unknown[][] {
  return cols.map((c) => rows.map(c.get));
}

/** The sink's PostgreSQL side: schema, position, and one transaction per batch. */
export interface SinkStore {
  migrate(): Promise<void>;
  /** The last stream sequence whose rows are committed (0 on a new database). */
  position(): Promise<number>;
  /**
   * Write `rows` and move the position from `fromSeq` to `toSeq`, in one transaction: the rows
   * and the position commit together or not at all (exactly once across crashes). Throws
   * REFUSED when the stored position is not `fromSeq` (another sink wrote meanwhile).
   */
  write(rows: SinkRows, fromSeq: number, toSeq: number): Promise<void>;
}

/** The store on one `pg` client (the caller owns the connection). */
export function createPgSinkStore(client: ClientBase): SinkStore {
  return {
    async migrate() {
      await client.query(SCHEMA);
    },
    async position() {
      const r = await client.query<{ last_seq: string }>(
        'SELECT last_seq FROM drover_sink WHERE id = 1',
      );
      return Number(r.rows[0]?.last_seq ?? 0);
    },
    async write(rows, fromSeq, toSeq) {
      await client.query('BEGIN');
      try {
        const at = await client.query<{ last_seq: string }>(
          'SELECT last_seq FROM drover_sink WHERE id = 1 FOR UPDATE',
        );
        const stored = Number(at.rows[0]?.last_seq ?? -1);
        if (stored !== fromSeq)
          throw new SchedulerError(
            ErrorCodes.Refused,
            `the sink's position is ${stored}, not ${fromSeq}: is another sink writing?`,
          );
        await writeRows(client, rows);
        await client.query(
          'UPDATE drover_sink SET last_seq = $1, updated_at = now() WHERE id = 1',
          [toSeq],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
  };
}

async function writeRows(client: ClientBase, rows: SinkRows): Promise<void> {
  const c = SINK_COLUMNS;
  if (rows.events.length > 0) await client.query(INSERT_EVENTS, columns(rows.events, c.events));
  if (rows.jobs.length > 0) await client.query(UPSERT_JOBS, columns(rows.jobs, c.jobs));
  if (rows.attempts.length > 0)
    await client.query(UPSERT_ATTEMPTS, columns(rows.attempts, c.attempts));
  if (rows.samples.length > 0) await client.query(INSERT_SAMPLES, columns(rows.samples, c.samples));
}
