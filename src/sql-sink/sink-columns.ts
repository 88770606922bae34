import type { AttemptRow, EventRow, JobRowSql, SampleRow } from './sink-rows.js';

/** One column of a sink table: its SQL name, the value of a row, and whether it is a time (ms). */
export interface SinkColumn<T> {
  readonly name: string;
  readonly get: (r: T) => unknown;
  readonly time?: true;
}

const col = <T>(name: string, get: (r: T) => unknown, time?: true): SinkColumn<T> =>
  time ? { name, get, time } : { name, get };

/**
 * The columns of each table, in the order of the sink's statements (`sql-sink.pg.ts`). One list,
 * so the sink and the benchmark's raw COPY of the same rows (`bench/ops.bench.ts`) write the same
 * columns from the same fields.
 */
export const SINK_COLUMNS = {
  events: [
    col<EventRow>('seq', (r) => r.seq),
    col<EventRow>('subject', (r) => r.subject),
    col<EventRow>('entity', (r) => r.entity),
    col<EventRow>('entity_id', (r) => r.entityId),
    col<EventRow>('job_id', (r) => r.jobId),
    col<EventRow>('type', (r) => r.type),
    col<EventRow>('v', (r) => r.v),
    col<EventRow>('event_id', (r) => r.eventId),
    col<EventRow>('at', (r) => r.at, true),
    col<EventRow>('by_kind', (r) => r.byKind),
    col<EventRow>('by_id', (r) => r.byId),
    col<EventRow>('data', (r) => JSON.stringify(r.data ?? null)),
  ],
  jobs: [
    col<JobRowSql>('id', (r) => r.id),
    col<JobRowSql>('name', (r) => r.name),
    col<JobRowSql>('user_name', (r) => r.user),
    col<JobRowSql>('pool', (r) => r.pool),
    col<JobRowSql>('state', (r) => r.state),
    col<JobRowSql>('priority', (r) => r.priority),
    col<JobRowSql>('parent', (r) => r.parent),
    col<JobRowSql>('created_at', (r) => r.createdAt, true),
    col<JobRowSql>('started_at', (r) => r.startedAt, true),
    col<JobRowSql>('ended_at', (r) => r.endedAt, true),
    col<JobRowSql>('cpus', (r) => r.cpus),
    col<JobRowSql>('mem_mb', (r) => r.memMb),
    col<JobRowSql>('gpus', (r) => r.gpus),
    col<JobRowSql>('chunks', (r) => r.chunks),
    col<JobRowSql>('retries', (r) => r.retries),
    col<JobRowSql>('command', (r) => JSON.stringify(r.command)),
    col<JobRowSql>('outcome_cause', (r) => r.outcomeCause),
    col<JobRowSql>('outcome_message', (r) => r.outcomeMessage),
    col<JobRowSql>('results_cleared', (r) => r.resultsCleared),
    col<JobRowSql>('last_seq', (r) => r.lastSeq),
  ],
  attempts: [
    col<AttemptRow>('job_id', (r) => r.jobId),
    col<AttemptRow>('chunk', (r) => r.chunk),
    col<AttemptRow>('attempt', (r) => r.attempt),
    col<AttemptRow>('worker', (r) => r.worker),
    col<AttemptRow>('node', (r) => r.node),
    col<AttemptRow>('state', (r) => r.state),
    col<AttemptRow>('cause', (r) => r.cause),
    col<AttemptRow>('exit_code', (r) => r.exitCode),
    col<AttemptRow>('signal', (r) => r.signal),
    col<AttemptRow>('peak_rss_mb', (r) => r.peakRssMb),
    col<AttemptRow>('cpu_seconds', (r) => r.cpuSeconds),
    col<AttemptRow>('started_at', (r) => r.startedAt, true),
    col<AttemptRow>('ended_at', (r) => r.endedAt, true),
  ],
  samples: [
    col<SampleRow>('seq', (r) => r.seq),
    col<SampleRow>('worker', (r) => r.worker),
    col<SampleRow>('job_id', (r) => r.jobId),
    col<SampleRow>('chunk', (r) => r.chunk),
    col<SampleRow>('attempt', (r) => r.attempt),
    col<SampleRow>('node', (r) => r.node),
    col<SampleRow>('at', (r) => r.at, true),
    col<SampleRow>('rss_mb', (r) => r.rssMb),
    col<SampleRow>('peak_rss_mb', (r) => r.peakRssMb),
    col<SampleRow>('cpu_seconds', (r) => r.cpuSeconds),
  ],
} as const;
