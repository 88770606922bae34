import type { ArchiveScope } from './archive.js';
import type { DecodeError } from './errors.js';
import type { Entity, Recorded } from './envelope.js';
import type { DroverEvent } from './schemas.js';

/** An event as stored: the event plus where the log put it. */
export type RecordedEvent = DroverEvent & { readonly recorded: Recorded };

/** The outcome of an append. A concurrency conflict is an expected outcome, so it is data. */
export type AppendResult =
  | { readonly ok: true; readonly seqs: readonly number[]; readonly duplicates: number }
  | {
      readonly ok: false;
      readonly conflict: { readonly expectedSeq: number; readonly actualSeq: number | undefined };
      /** Events of the batch stored before the conflict (appends are not atomic on 2.9). */
      readonly appended: number;
    };

export interface AppendOptions {
  /**
   * The entity's last sequence as the writer saw it (0: the entity has no events yet).
   * Omit only for writes that must not be conditional (there are none in Drover's core).
   */
  readonly expectedSeq?: number;
}

/** Where a replay starts and stops; sequences are stream sequences, times are epoch ms. */
export interface ReplayRange {
  readonly fromSeq?: number;
  readonly fromTime?: number;
  readonly untilSeq?: number;
  readonly untilTime?: number;
  /** Only these entity kinds (one filter subject; all when omitted). */
  readonly entity?: Entity;
}

/** A message that could not be decoded: reported with its position and skipped, never fatal. */
export interface CorruptMessage {
  readonly corrupt: true;
  readonly subject: string;
  readonly seq: number;
  readonly error: DecodeError;
}

export type ReplayItem = RecordedEvent | CorruptMessage;

export interface EntityHistory {
  readonly events: RecordedEvent[];
  readonly lastSeq: number;
  readonly corrupt: CorruptMessage[];
}

/** A live tail: iterate, then `stop()`. */
export interface Tail extends AsyncIterable<ReplayItem> {
  stop(): Promise<void>;
  /**
   * The highest sequence this tail has gone past without delivering it (archived history its
   * scope left out; 0 when none): a catch-up stands at the larger of this and the last event
   * folded, or it would wait for events it will never be given.
   */
  passed(): number;
}

/**
 * The port to the event log (STYLE.md: a port with one real adapter, on JetStream).
 * `append` is append-if-unchanged per entity subject and idempotent by event id.
 */
export interface EventLog {
  append(
    entity: Entity,
    id: string,
    events: readonly DroverEvent[],
    opts?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * All events of one entity, in order, with its last sequence (0 when it has none). Corrupt
   * messages are reported apart; `lastSeq` counts them, so an append after a read still races.
   */
  read(entity: Entity, id: string): Promise<EntityHistory>;
  /**
   * The sequence of one entity's last live event (0 when it has none in the live log): one direct
   * get, for a writer that holds a view of the entity and only asks whether it still holds.
   */
  lastSeqOf(entity: Entity, id: string): Promise<number>;
  /** The whole log (or a range), in order, as a fast async iterator, archive merged in. */
  replay(range?: ReplayRange): AsyncIterable<ReplayItem>;
  /** The same in batches: the fast path for folds over millions of events. */
  replayBatches(range?: ReplayRange): AsyncIterable<ReplayItem[]>;
  /**
   * Live events from `fromSeq` (default: the next one), until stopped. Compacted history is
   * left out unless `archive` (services that hold only what is live start from the live log:
   * their start-up time follows the farm's recent work, not the age of the log). An
   * `ArchiveScope` merges only the archived jobs that ended within it (`runsToRead`): a read
   * model with a retention folds the history it keeps, not the whole archive.
   */
  tail(opts?: { fromSeq?: number; entity?: Entity; archive?: boolean | ArchiveScope }): Tail;
  /** The stream's last sequence now. */
  lastSeq(): Promise<number>;
  /**
   * The sequence of the last event in the live log now (0 when it holds none): what a tail of
   * the live log reaches. Below `lastSeq` once compaction moved the log's last events away, and
   * a catch-up that waited for `lastSeq` would wait for the next append.
   */
  lastLiveSeq(): Promise<number>;
}

export function isCorrupt(item: ReplayItem): item is CorruptMessage {
  return (item as CorruptMessage).corrupt === true;
}
