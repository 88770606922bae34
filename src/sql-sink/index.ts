/**
 * The SQL sink: PostgreSQL tables kept up to date from the log, exactly once. The rows are a
 * pure function of the read model (`sinkRows`); the pg adapter writes them with the position.
 */
export { sinkRows } from './sink-rows.js';
export type { AttemptRow, EventRow, JobRowSql, SampleRow, SinkRows } from './sink-rows.js';
export { SCHEMA, createPgSinkStore } from './sql-sink.pg.js';
export { SINK_COLUMNS } from './sink-columns.js';
export type { SinkColumn } from './sink-columns.js';
export type { SinkStore } from './sql-sink.pg.js';
export { startSqlSink } from './sql-sink.service.js';
export type { SqlSink, SqlSinkOptions } from './sql-sink.service.js';
