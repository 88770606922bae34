import { EVENTS_PREFIX } from './subjects.js';

/**
 * The archive of compacted entities: names and pure helpers. Pure.
 *
 * `drover compact` moves the whole history of entities that are done (a job tree terminal for
 * longer than the retention, with its chunks and workers) from `DROVER_EVENTS` to the stream
 * `DROVER_ARCHIVE`, so the live log stays as large as the farm's recent work. Nothing is lost:
 * each archived message keeps its original stream sequence, store time and chain link in
 * headers, and readers merge the archive back into the live log by original sequence, so every
 * fold (usage, fair share, audit, replay, verify) sees exactly the log it saw before.
 *
 * A move is a run: copy the entities' messages (deduplicated by original sequence), check the
 * copy, record the run (`drover.archive.run`), then purge the entities from the live log. Readers
 * only trust recorded runs, so a crash before the record leaves the live log untouched (the
 * unrecorded copies are ignored), and a crash after it leaves the events in both places, which
 * the merge reads once (same original sequence).
 */
export const ARCHIVE_STREAM = 'DROVER_ARCHIVE';
export const ARCHIVE_PREFIX = 'drover.archive';
const ARCHIVE_EVENTS_PREFIX = `${ARCHIVE_PREFIX}.ev`;
/** The subject of run records: one JSON message per completed copy. */
export const ARCHIVE_RUN_SUBJECT = `${ARCHIVE_PREFIX}.run`;
export const ARCHIVE_WILDCARD = `${ARCHIVE_PREFIX}.>`;
/** Original stream sequence of an archived event. */
export const ORIGINAL_SEQ_HEADER = 'Drover-Seq';
/** Original store time (epoch ms). */
export const ORIGINAL_TIME_HEADER = 'Drover-Time';
/** The original `Nats-Expected-Last-Subject-Sequence` (kept under another name: not enforced). */
export const ORIGINAL_PREV_HEADER = 'Drover-Prev';

/** `drover.ev.job.j1` → `drover.archive.ev.job.j1` (and the wildcards alike). */
export function archiveSubjectOf(liveSubject: string): string {
  return `${ARCHIVE_EVENTS_PREFIX}${liveSubject.slice(EVENTS_PREFIX.length)}`;
}

/** `drover.archive.ev.job.j1` → `drover.ev.job.j1`. */
export function liveSubjectOf(archiveSubject: string): string {
  return `${EVENTS_PREFIX}${archiveSubject.slice(ARCHIVE_EVENTS_PREFIX.length)}`;
}

/** The archive's events of every kind whose id is `id` (`drover audit` of a compacted entity). */
export function archiveSubjectsOfId(id: string): string {
  return `${ARCHIVE_EVENTS_PREFIX}.*.${id}`;
}

/** The dedupe id of an archived copy: one per original message, whatever run copies it. */
export function archiveMsgId(originalSeq: number): string {
  return `archive-${originalSeq}`;
}

/**
 * One completed move, as recorded: archive sequences `fromSeq..toSeq` hold copies of original
 * sequences `minSeq..maxSeq` (in original order) of `subjects` entities.
 */
export interface ArchiveRun {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly minSeq: number;
  readonly maxSeq: number;
  readonly messages: number;
  readonly subjects: number;
  /** When the run was recorded (ISO), and the retention it applied. */
  readonly at: string;
  readonly olderThanMs: number;
}

/** A run record from its JSON body, or undefined when it is not one (never trusted blindly). */
export function parseArchiveRun(body: string): ArchiveRun | undefined {
  try {
    const r = JSON.parse(body) as Partial<ArchiveRun>;
    const nums = [r.fromSeq, r.toSeq, r.minSeq, r.maxSeq, r.messages];
    return nums.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
      ? (r as ArchiveRun)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a reader that holds only recent jobs needs of the archive: `endedSince` (epoch ms) is the
 * oldest end it keeps (a read model's retention: `now - retainMs`). A recorded run whose every
 * job ended before it is history that reader would let go of at once, so it is left out.
 */
export interface ArchiveScope {
  readonly endedSince: number;
}

/**
 * The newest end any job moved by `run` can have: its compaction's cutoff (`at - olderThanMs`: a
 * tree moves only when nothing in it happened after the cutoff). Infinity when the record does
 * not say (a run is then never left out). Pure.
 */
export function runCutoff(run: ArchiveRun): number {
  const at = Date.parse(run.at);
  return Number.isFinite(at) && Number.isFinite(run.olderThanMs) ? at - run.olderThanMs : Infinity;
}

/**
 * The recorded runs a read of original sequences `fromSeq..untilSeq` merges (those that overlap
 * it). With a scope, a run is left out when every job it moved ended before `scope.endedSince`
 * AND it holds nothing before `fromSeq`: its jobs are then wholly absent from what the reader
 * folds (never half-folded onto a start-up snapshot taken before `fromSeq`). A short
 * `--older-than` makes runs of recent jobs: those stay (their cutoff is recent). Pure.
 */
export function runsToRead(
  runs: readonly ArchiveRun[],
  fromSeq: number,
  untilSeq: number,
  scope?: ArchiveScope,
): ArchiveRun[] {
  return runs.filter(
    (r) =>
      r.maxSeq >= fromSeq &&
      r.minSeq <= untilSeq &&
      !(scope && r.minSeq >= fromSeq && runCutoff(r) < scope.endedSince),
  );
}
