import { JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  ARCHIVE_RUN_SUBJECT,
  ARCHIVE_STREAM,
  ARCHIVE_WILDCARD,
  ORIGINAL_PREV_HEADER,
  ORIGINAL_SEQ_HEADER,
  ORIGINAL_TIME_HEADER,
  archiveSubjectOf,
  liveSubjectOf,
  parseArchiveRun,
  runsToRead,
  type ArchiveRun,
  type ArchiveScope,
} from './archive.js';
import { mergeBySeq } from './merge.js';
import { nextValue } from './read-turns.jetstream.js';
import { readBatches, type RawMessage, type ReadRange } from './reader.jetstream.js';
import { eventWildcard } from './subjects.js';
import { EXPECTED_SEQ_HEADER } from './verify.jetstream.js';

/**
 * `DROVER_ARCHIVE`: compacted history, kept forever (no deletes, no purges), direct get for an
 * entity's archived events. Created by the first `drover compact`; replicas as `DROVER_REPLICAS`.
 */
export async function ensureArchiveStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
  try {
    await jsm.streams.info(ARCHIVE_STREAM);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err;
  }
  await jsm.streams.add({
    name: ARCHIVE_STREAM,
    subjects: [ARCHIVE_WILDCARD],
    storage: 'file' as StreamConfig['storage'],
    retention: 'limits' as StreamConfig['retention'],
    discard: 'new' as StreamConfig['discard'],
    max_msg_size: 1024 * 1024,
    num_replicas: replicas,
    duplicate_window: nanos(120_000),
    allow_direct: true,
    deny_delete: true,
    deny_purge: true,
  });
}

/** The archive's last sequence, or undefined when there is no archive (nothing compacted yet). */
export async function archiveLastSeq(jsm: JetStreamManager): Promise<number | undefined> {
  try {
    return (await jsm.streams.info(ARCHIVE_STREAM)).state.last_seq;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) return undefined;
    throw err;
  }
}

/** The recorded runs, in order (none without an archive). Unparsable records are ignored. */
export async function loadArchiveRuns(
  nc: NatsConnection,
  jsm: JetStreamManager,
): Promise<ArchiveRun[]> {
  const last = await archiveLastSeq(jsm);
  if (!last) return [];
  const runs: ArchiveRun[] = [];
  const range = { filter: ARCHIVE_RUN_SUBJECT, untilSeq: last };
  for await (const batch of readBatches(nc, jsm, ARCHIVE_STREAM, range)) {
    for (const m of batch) {
      const run = parseArchiveRun(new TextDecoder().decode(m.data));
      if (run) runs.push(run);
    }
  }
  return runs;
}

/** An archived message as the live log stored it: original subject, sequence, time and link. */
export function asOriginal(m: RawMessage, withHeaders: boolean): RawMessage | undefined {
  const seq = Number(m.headers?.get(ORIGINAL_SEQ_HEADER) ?? '');
  if (!Number.isSafeInteger(seq) || seq <= 0) return undefined;
  const time = Number(m.headers?.get(ORIGINAL_TIME_HEADER) ?? '') || m.time;
  const prev = m.headers?.get(ORIGINAL_PREV_HEADER) ?? '';
  let headers;
  if (withHeaders) {
    headers = natsHeaders();
    if (prev !== '') headers.set(EXPECTED_SEQ_HEADER, prev);
  }
  return { subject: liveSubjectOf(m.subject), seq, time, data: m.data, headers };
}

/** One recorded run's messages in `range` (original sequences and times), in original order. */
async function* runMessages(
  nc: NatsConnection,
  jsm: JetStreamManager,
  run: ArchiveRun,
  range: ReadRange,
): AsyncGenerator<RawMessage[]> {
  const filter = archiveSubjectOf(range.filter ?? eventWildcard());
  const read = { filter, fromSeq: run.fromSeq, untilSeq: run.toSeq, headers: true };
  const from = range.fromSeq ?? 1;
  const until = range.untilSeq ?? Infinity;
  for await (const batch of readBatches(nc, jsm, ARCHIVE_STREAM, read)) {
    const out: RawMessage[] = [];
    for (const raw of batch) {
      const m = asOriginal(raw, range.headers === true);
      if (!m || m.seq < from || m.seq > until) continue;
      if (range.fromTime !== undefined && m.time < range.fromTime) continue;
      if (range.untilTime !== undefined && m.time > range.untilTime) continue;
      out.push(m);
    }
    if (out.length) yield out;
  }
}

/** How a read of the log merged with its archive goes (`readWithArchive`). */
export interface ArchiveReadOptions {
  /** Leave out the runs of jobs that ended before a reader's retention (`runsToRead`). */
  readonly scope?: ArchiveScope;
  /**
   * Told the live stream's last sequence once everything up to it was delivered or left out:
   * a follower whose last events are in a run left out still learns it has caught up.
   */
  readonly onPassed?: (seq: number) => void;
}

/**
 * Read the event log as if nothing had been compacted: the live stream merged by original
 * sequence with the archive's recorded runs that overlap `range` (less those `opts.scope` leaves
 * out). Without an archive this is exactly `readBatches` on the live stream. A follow (tail)
 * merges up to the live stream's last sequence now, then follows the live stream alone
 * (everything archived is older than that).
 */
export async function* readWithArchive(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  range: ReadRange,
  opts: ArchiveReadOptions = {},
): AsyncGenerator<RawMessage[]> {
  const from = range.fromSeq ?? 1;
  const until = range.untilSeq ?? Infinity;
  const all = await loadArchiveRuns(nc, jsm);
  const runs = runsToRead(all, from, until, opts.scope);
  let live: AsyncGenerator<RawMessage[]>;
  if (runs.length === 0 && runsToRead(all, from, until).length === 0) {
    live = readBatches(nc, jsm, stream, range);
  } else {
    const lastNow = (await jsm.streams.info(stream)).state.last_seq;
    const bounded = {
      ...range,
      follow: false,
      untilSeq: Math.min(range.untilSeq ?? lastNow, lastNow),
    };
    const sources = [
      readBatches(nc, jsm, stream, bounded),
      ...runs.map((r) => runMessages(nc, jsm, r, bounded)),
    ];
    let lastSeen = from - 1;
    const merged = mergeBySeq(sources);
    try {
      // Not `for await`: its binding of the last merged batch would stay in this generator's
      // registers for the whole follow below.
      for (;;) {
        let batch = await nextValue(merged);
        if (batch === undefined) break;
        lastSeen = (batch[batch.length - 1] as RawMessage).seq;
        yield batch;
        batch = undefined;
      }
    } finally {
      await merged.return(undefined);
    }
    opts.onPassed?.(bounded.untilSeq);
    if (!range.follow) return;
    const { fromTime: _t, ...rest } = range;
    live = readBatches(nc, jsm, stream, { ...rest, fromSeq: Math.max(lastSeen, lastNow) + 1 });
  }
  // Not `yield*`: delegation keeps the inner generator's last result (and its batch) while a
  // tail waits for the next (see `itemsWithTurns` in read-turns.jetstream.ts).
  try {
    for (;;) {
      let batch = await nextValue(live);
      if (batch === undefined) return;
      yield batch;
      batch = undefined;
    }
  } finally {
    await live.return(undefined);
  }
}

/**
 * Every archived message on `filter` (an archive subject or wildcard), original sequence order,
 * each once. For the history of one compacted entity (`EventLog.read`, `drover audit`).
 */
export async function readArchivedSubject(
  nc: NatsConnection,
  jsm: JetStreamManager,
  filter: string,
): Promise<RawMessage[]> {
  const last = await archiveLastSeq(jsm);
  if (!last) return [];
  const bySeq = new Map<number, RawMessage>();
  const range = { filter, untilSeq: last, headers: true };
  for await (const batch of readBatches(nc, jsm, ARCHIVE_STREAM, range)) {
    for (const raw of batch) {
      const m = asOriginal(raw, false);
      if (m && !bySeq.has(m.seq)) bySeq.set(m.seq, m);
    }
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
