import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkEvent, decodeEvent, wasValidated } from './codec.js';
import type { Entity } from './envelope.js';
import { DecodeError, ErrorCodes, SchedulerError } from './errors.js';
import type {
  AppendOptions,
  AppendResult,
  EntityHistory,
  EventLog,
  RecordedEvent,
  ReplayItem,
  ReplayRange,
  Tail,
} from './event-log.js';
import { isCorrupt } from './event-log.js';
import { EventLoopTurns, itemsWithTurns, nextValue } from './read-turns.jetstream.js';
import { JetStreamPublisher } from './publisher.jetstream.js';
import {
  readArchivedSubject,
  readWithArchive,
  type ArchiveReadOptions,
} from './archive.jetstream.js';
import { archiveSubjectOf, type ArchiveScope } from './archive.js';
import { readBatches, type RawMessage, type ReadRange } from './reader.jetstream.js';
import { eventCatalog, type DroverEvent } from './schemas.js';
import { EVENTS_STREAM, eventSubject, eventWildcard } from './subjects.js';
import { encodeEvent } from './codec.js';

type TailOptions = { fromSeq?: number; entity?: Entity; archive?: boolean | ArchiveScope };

export interface JetStreamEventLogOptions {
  readonly stream?: string;
  /** How long an append waits for its ack before failing with TIMEOUT. */
  readonly ackTimeoutMs?: number;
  /**
   * `read` of an entity with no live events looks in the archive (a compacted entity's
   * history). Off by default: the write path reads every new entity, and needs no archive.
   */
  readonly readArchive?: boolean;
}

/** The event log plus the means to release its subscription. */
export interface JetStreamEventLog extends EventLog {
  close(): Promise<void>;
}

/**
 * The EventLog on JetStream (`DROVER_EVENTS`, one subject per entity). Appends are validated,
 * conditional on the entity's last sequence and idempotent by event id; reads decode and
 * report corrupt messages instead of failing. The stream must exist (`ensureEventStream`).
 */
export async function createJetStreamEventLog(
  nc: NatsConnection,
  opts: JetStreamEventLogOptions = {},
): Promise<JetStreamEventLog> {
  const jsm = await jetstreamManager(nc);
  return new JetStreamEventLogImpl(
    nc,
    jsm,
    opts.stream ?? EVENTS_STREAM,
    opts.ackTimeoutMs ?? 5_000,
    opts.readArchive === true,
  );
}

class JetStreamEventLogImpl implements JetStreamEventLog {
  private readonly publisher: JetStreamPublisher;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    ackTimeoutMs: number,
    private readonly readArchive: boolean,
  ) {
    this.publisher = new JetStreamPublisher(nc, ackTimeoutMs);
  }

  async append(
    entity: Entity,
    id: string,
    events: readonly DroverEvent[],
    opts: AppendOptions = {},
  ): Promise<AppendResult> {
    const subject = eventSubject(entity, id);
    const payloads = events.map((e) => encodeEvent(checkWritable(entity, e)));
    let expected = opts.expectedSeq;
    const seqs: number[] = [];
    let duplicates = 0;
    for (let i = 0; i < events.length; i++) {
      const out = await this.publisher.publish(
        subject,
        payloads[i] as Uint8Array,
        (events[i] as DroverEvent).id,
        expected,
      );
      let seq: number;
      if (out.kind === 'conflict') {
        const stored = await this.storedSeq(subject, (events[i] as DroverEvent).id, expected);
        if (stored === undefined) {
          return {
            ok: false,
            conflict: { expectedSeq: expected ?? -1, actualSeq: out.actualSeq },
            appended: i,
          };
        }
        seq = stored;
        duplicates++;
      } else {
        seq = out.seq;
        if (out.duplicate) duplicates++;
      }
      seqs.push(seq);
      // The next event of the batch is conditional on this one: nothing may slip in between.
      if (expected !== undefined) expected = seq;
    }
    return { ok: true, seqs, duplicates };
  }

  /**
   * The sequence of an event already stored on this subject after `afterSeq`, by its id. A retried
   * append (same event id, the expectation it had before) must be told "duplicate", as nats-server
   * 2.9 does by checking the message id first; since 2.10 the server checks the expected sequence
   * first and answers "wrong last sequence", so the adapter looks for the event itself.
   */
  private async storedSeq(
    subject: string,
    eventId: string,
    afterSeq: number | undefined,
  ): Promise<number | undefined> {
    for await (const batch of this.batches({ filter: subject, fromSeq: (afterSeq ?? 0) + 1 })) {
      for (const item of batch)
        if (!isCorrupt(item) && item.id === eventId) return item.recorded.seq;
    }
    return undefined;
  }

  async lastSeqOf(entity: Entity, id: string): Promise<number> {
    const last = await this.jsm.direct.getMessage(this.stream, {
      last_by_subj: eventSubject(entity, id),
    });
    return last?.seq ?? 0;
  }

  async read(entity: Entity, id: string): Promise<EntityHistory> {
    // Most reads before a first append (every submission) find nothing: one direct get says so
    // without creating a consumer.
    const last = await this.jsm.direct.getMessage(this.stream, {
      last_by_subj: eventSubject(entity, id),
    });
    if (last === null) {
      return this.readArchive
        ? this.readArchived(entity, id)
        : { events: [], lastSeq: 0, corrupt: [] };
    }
    const events: RecordedEvent[] = [];
    const corrupt: EntityHistory['corrupt'][number][] = [];
    let lastSeq = 0;
    for await (const batch of this.batches({ filter: eventSubject(entity, id) })) {
      for (const item of batch) {
        if (isCorrupt(item)) corrupt.push(item);
        else events.push(item);
        lastSeq = isCorrupt(item) ? item.seq : item.recorded.seq;
      }
    }
    return { events, lastSeq, corrupt };
  }

  /**
   * A compacted entity's history, from the archive (empty when it was never compacted). Its
   * `lastSeq` is the last original sequence, so an append to it conflicts (archived entities are
   * done: nothing is written to them again).
   */
  private async readArchived(entity: Entity, id: string): Promise<EntityHistory> {
    const archived = await readArchivedSubject(
      this.nc,
      this.jsm,
      archiveSubjectOf(eventSubject(entity, id)),
    );
    const items = archived.map(decodeRaw);
    return {
      events: items.filter((i): i is RecordedEvent => !isCorrupt(i)),
      corrupt: items.filter(isCorrupt),
      lastSeq: archived.length ? (archived[archived.length - 1] as RawMessage).seq : 0,
    };
  }

  replay(range: ReplayRange = {}): AsyncIterable<ReplayItem> {
    return itemsWithTurns(this.replayBatches(range));
  }

  /** Merged with the archive: a replay sees the log as if nothing had been compacted. */
  replayBatches(range: ReplayRange = {}): AsyncIterable<ReplayItem[]> {
    return this.batches({ ...range, filter: eventWildcard(range.entity) }, true);
  }

  tail(opts: TailOptions = {}): Tail {
    const abort = new AbortController();
    let passed = 0;
    const onPassed = (seq: number) => (passed = Math.max(passed, seq));
    const iterable = this.tailItems(opts, abort.signal, onPassed);
    return {
      [Symbol.asyncIterator]: () => iterable,
      stop: async () => {
        abort.abort();
      },
      passed: () => passed,
    };
  }

  private async *tailItems(
    opts: TailOptions,
    signal: AbortSignal,
    onPassed: (seq: number) => void,
  ): AsyncGenerator<ReplayItem> {
    const fromSeq = opts.fromSeq ?? (await this.lastSeq()) + 1;
    const range = { filter: eventWildcard(opts.entity), fromSeq, follow: true, signal };
    const archive =
      opts.archive === undefined || opts.archive === false
        ? false
        : { ...(opts.archive !== true && { scope: opts.archive }), onPassed };
    yield* itemsWithTurns(this.batches(range, archive));
  }

  async lastSeq(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.last_seq;
  }

  async lastLiveSeq(): Promise<number> {
    const {
      first_seq: first,
      last_seq: last,
      messages,
    } = (await this.jsm.streams.info(this.stream)).state;
    if (messages === 0) return 0;
    // Is any message at or after `seq`? One direct get (`next_by_subj`; the stream allows direct gets). The
    // common case (the last sequence is stored) costs one; after a compaction moved the log's
    // end, a binary search costs ~log2(last) gets. The stream holds event subjects only.
    const anyFrom = async (seq: number) =>
      (await this.jsm.direct.getMessage(this.stream, { seq, next_by_subj: eventWildcard() })) !==
      null;
    try {
      if (await this.jsm.direct.getMessage(this.stream, { seq: last })) return last;
      let [lo, hi] = [first, last]; // a message at lo or after; none at hi or after
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await anyFrom(mid)) lo = mid;
        else hi = mid;
      }
      const m = await this.jsm.direct.getMessage(this.stream, {
        seq: lo,
        next_by_subj: eventWildcard(),
      });
      return m ? m.seq : last;
    } catch {
      return last; // a server that cannot say: the stream's last sequence, as before compaction
    }
  }

  async close(): Promise<void> {
    await this.publisher.close();
  }

  private async *batches(
    range: ReadRange,
    archive: boolean | ArchiveReadOptions = false,
  ): AsyncGenerator<ReplayItem[]> {
    const read =
      archive === false
        ? readBatches(this.nc, this.jsm, this.stream, range)
        : readWithArchive(this.nc, this.jsm, this.stream, range, archive === true ? {} : archive);
    // A consumer that folds each batch at once (replayBatches) holds the loop for one batch at most.
    const turns = new EventLoopTurns();
    let finished = false;
    try {
      for (;;) {
        // Let go of each batch before waiting for the next (see `itemsWithTurns`): a tail's
        // generator keeps what its registers hold while it waits.
        let raw = await nextValue(read);
        if (raw === undefined) {
          finished = true;
          return;
        }
        if (turns.due()) await turns.take();
        let decoded: ReplayItem[] | undefined = raw.map(decodeRaw);
        raw = undefined;
        yield decoded;
        decoded = undefined;
      }
    } finally {
      if (!finished) await read.return(undefined);
    }
  }
}

/** Decode one stored message; a bad one becomes a report, never an exception. */
function decodeRaw(m: RawMessage): ReplayItem {
  try {
    const event = decodeEvent(m.data, { subject: m.subject, seq: m.seq }) as RecordedEvent;
    (event as { recorded: RecordedEvent['recorded'] }).recorded = {
      subject: m.subject,
      seq: m.seq,
    };
    return event;
  } catch (err) {
    const error =
      err instanceof DecodeError
        ? err
        : new DecodeError(
            ErrorCodes.Decode,
            'undecodable message',
            { subject: m.subject, seq: m.seq },
            { cause: err },
          );
    return { corrupt: true, subject: m.subject, seq: m.seq, error };
  }
}

/** Only valid events of the right entity are ever written (bad input never reaches the log). */
function checkWritable(entity: Entity, event: DroverEvent): DroverEvent {
  const entry = eventCatalog.get(event.type);
  if (!entry || entry.entity !== entity) {
    throw new SchedulerError(
      ErrorCodes.InvalidEvent,
      `${event.type} is not an event of a ${entity}`,
    );
  }
  if (!wasValidated(event)) checkEvent(event);
  return event;
}
