import type { Logger } from 'pino';
import { applyEvent, emptyReadModel, type ReadModel } from '../api/index.js';
import { isCorrupt, type EventLog, type RecordedEvent, type ReplayItem } from '../events/index.js';
import type { SinkStore } from './sql-sink.pg.js';
import { sinkRows } from './sink-rows.js';

export interface SqlSinkOptions {
  readonly eventLog: EventLog;
  readonly store: SinkStore;
  readonly logger: Logger;
  /** Most events per transaction (default 2,000). */
  readonly maxBatch?: number;
  /** Called after each committed batch (tests, benches, progress). */
  readonly onCommit?: (toSeq: number, events: number) => void;
}

/** A running sink. */
export interface SqlSink {
  /** The last sequence committed. */
  readonly position: () => number;
  /** Resolves once the committed position reaches `seq`. */
  caughtUp(seq: number): Promise<void>;
  /** Settles when the sink stops: rejects when a batch failed (the process should exit). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keep PostgreSQL up to date from the log, exactly once: each batch's rows and the stream
 * sequence they end at are committed in one transaction, and a start resumes after the stored
 * sequence. The job and attempt rows come from the API's read model, so the fold to that
 * position is rebuilt first by replay (read-only). Killed at any point, a restart neither
 * misses nor doubles a row: an uncommitted batch left nothing, a committed one moved the
 * position past itself.
 */
export async function startSqlSink(opts: SqlSinkOptions): Promise<SqlSink> {
  const { eventLog, store, logger } = opts;
  const maxBatch = opts.maxBatch ?? 2000;
  await store.migrate();
  let committed = await store.position();
  const model = emptyReadModel();
  await refold(model, eventLog, committed);
  logger.info({ seq: committed, jobs: model.jobs.size }, 'sql sink resumes');

  const waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  // The sink keeps every event: a sink behind a compaction reads the moved ones from the archive.
  const tail = eventLog.tail({ fromSeq: committed + 1, archive: true });
  const buffer: ReplayItem[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  let ended = false;
  const reading = (async () => {
    for await (const item of tail) {
      buffer.push(item);
      wake?.();
      // Back-pressure: the writer is behind, wait for it to take a few batches.
      while (buffer.length > maxBatch * 4 && !stopped) await new Promise((r) => setTimeout(r, 5));
    }
  })().finally(() => {
    ended = true;
    wake?.();
  });

  const writing = (async () => {
    while (!stopped) {
      if (buffer.length === 0) {
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = buffer.splice(0, maxBatch);
      committed = await writeBatch(model, store, batch, committed, logger);
      opts.onCommit?.(committed, batch.length);
      for (let i = waiters.length - 1; i >= 0; i--)
        if (waiters[i]!.seq <= committed) waiters.splice(i, 1)[0]!.resolve();
    }
  })();
  writing.catch((err: unknown) => {
    logger.error({ err }, 'sql sink stopped');
    for (const w of waiters.splice(0)) w.reject(err);
  });

  return {
    position: () => committed,
    done: writing,
    caughtUp(seq) {
      if (committed >= seq) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ seq, resolve, reject }));
    },
    async stop() {
      stopped = true;
      wake?.();
      await tail.stop();
      await reading.catch(() => undefined);
      await writing.catch(() => undefined);
    },
  };
}

/** Fold the log up to `seq` into `model` without writing (what the database already holds). */
async function refold(model: ReadModel, eventLog: EventLog, seq: number): Promise<void> {
  if (seq === 0) return;
  for await (const items of eventLog.replayBatches({ untilSeq: seq }))
    for (const item of items) if (!isCorrupt(item)) applyEvent(model, item);
}

async function writeBatch(
  model: ReadModel,
  store: SinkStore,
  batch: readonly ReplayItem[],
  from: number,
  logger: Logger,
): Promise<number> {
  const events: RecordedEvent[] = [];
  let to = from;
  for (const item of batch) {
    if (isCorrupt(item)) {
      logger.error({ seq: item.seq, subject: item.subject }, 'corrupt message skipped');
      to = Math.max(to, item.seq);
    } else {
      events.push(item);
      to = Math.max(to, item.recorded.seq);
    }
  }
  const rows = sinkRows(model, events);
  await store.write(rows, from, to);
  logger.debug({ from, to, events: events.length }, 'batch committed');
  return to;
}
