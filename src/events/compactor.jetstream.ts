import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  ARCHIVE_RUN_SUBJECT,
  ARCHIVE_STREAM,
  ORIGINAL_PREV_HEADER,
  ORIGINAL_SEQ_HEADER,
  ORIGINAL_TIME_HEADER,
  archiveSubjectOf,
  type ArchiveRun,
} from './archive.js';
import { archiveLastSeq, ensureArchiveStream } from './archive.jetstream.js';
import { decodeEvent } from './codec.js';
import { createCompactionSelector, observeForCompaction, planCompaction } from './compaction.js';
import { purgeMoved, type PurgeReport } from './compaction-purge.jetstream.js';
import { ErrorCodes, SchedulerError } from './errors.js';
import { readBatches, type RawMessage } from './reader.jetstream.js';
import { EVENTS_PREFIX, EVENTS_STREAM } from './subjects.js';
import { SparseAckSender } from './sparse-ack-sender.jetstream.js';
import { EXPECTED_SEQ_HEADER } from './verify.jetstream.js';
import { createPurgeTally, planPurge, tallyForPurge, type KindPurge } from './purge-plan.js';

export interface CompactOptions {
  /** Retention: only trees with nothing newer than `now - olderThanMs` move. */
  readonly olderThanMs: number;
  /** Epoch ms (passed in: the cutoff is reproducible). */
  readonly now: number;
  readonly dryRun?: boolean;
  readonly replicas?: number;
  readonly stream?: string;
  /** Tests: stop as a crash would, after the copy or after the run record (before the purge). */
  readonly crashAfter?: 'copy' | 'record';
  /** Benches: told as each step ends, with the ms since the start (phase timings). */
  readonly onStep?: (step: CompactionStep, elapsedMs: number, purge?: PurgeReport) => void;
}

/** The steps of a compaction, in order. */
export type CompactionStep = 'plan' | 'copy' | 'check' | 'record' | 'purge';

/** What `drover compact` did (or, with `dryRun`, would do). */
export interface CompactionReport {
  readonly dryRun: boolean;
  readonly cutoff: string;
  /** Live messages and entities (subjects) read, and the live log's last sequence. */
  readonly scanned: { readonly messages: number; readonly lastSeq: number };
  readonly roots: number;
  readonly jobs: number;
  readonly subjects: number;
  readonly messages: number;
  /** The recorded run (absent on a dry run or when nothing moved). */
  readonly run?: ArchiveRun;
  readonly elapsedMs: number;
}

/**
 * Move done job trees older than the retention from the live log to `DROVER_ARCHIVE`, crash-safe:
 * 1. plan: one pass over the live log (`compaction.ts` picks whole terminal trees);
 * 2. copy their messages, in original order, each with its original sequence, time and chain
 *    link in headers and a dedupe id (a retried publish is stored once);
 * 3. check the copy: read it back, same original sequences in the same order, nothing between;
 * 4. record the run (`drover.archive.run`): from here readers merge it into the log;
 * 5. purge from the live log, only up to the planned last sequence: each kind's moved prefix in
 *    one call, then the moved entities after it one by one; workers, chunks, then jobs
 *    (`purge-plan.ts`).
 * A crash before 4 leaves an unrecorded copy that no reader uses; between 4 and 5, events in
 * both places, read once; during 5, a re-run plans what is left of each tree from its job's
 * events (purged last) and finishes the move. Never a loss. Only one compaction at a time
 * should run (a second one racing fails its check 3 and records nothing).
 */
export async function compactLog(
  nc: NatsConnection,
  opts: CompactOptions,
): Promise<CompactionReport> {
  const started = performance.now();
  const step = (name: CompactionStep, detail?: PurgeReport) =>
    opts.onStep?.(name, Math.round(performance.now() - started), detail);
  const stream = opts.stream ?? EVENTS_STREAM;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const lastSeq = info.state.last_seq;
  const cutoff = opts.now - opts.olderThanMs;
  const selector = createCompactionSelector();
  let scanned = 0;
  // The plan reads the live log only: an entity copied and recorded by a run that crashed
  // before its purge is still live, planned and copied again (readers read its copies once).
  for await (const batch of readBatches(nc, jsm, stream, { untilSeq: lastSeq })) {
    for (const m of batch) {
      scanned++;
      observeForCompaction(selector, m.subject, m.time, typeOf(m));
    }
  }
  const plan = planCompaction(selector, cutoff);
  step('plan');
  const base = {
    dryRun: opts.dryRun === true,
    cutoff: new Date(cutoff).toISOString(),
    scanned: { messages: scanned, lastSeq },
    roots: plan.roots.length,
    jobs: plan.jobs,
    subjects: plan.subjects.length,
    messages: plan.messages,
  };
  const done = () => ({ ...base, elapsedMs: Math.round(performance.now() - started) });
  if (opts.dryRun || plan.subjects.length === 0) return done();
  if (info.config.deny_purge) {
    throw new SchedulerError(
      ErrorCodes.Refused,
      `${stream} was created with deny_purge, which JetStream never lifts: nothing was moved. ` +
        'To compact, move the farm to a new stream: drover backup FILE, then drover restore FILE ' +
        'into an empty server (it creates the log purgeable by compaction)',
    );
  }
  await ensureArchiveStream(jsm, opts.replicas ?? 1);
  const copy = await copyToArchive(nc, jsm, stream, new Set(plan.subjects), lastSeq, opts);
  step('copy');
  await checkCopy(nc, jsm, copy.run.fromSeq, copy.run.toSeq, copy.copied);
  step('check');
  if (opts.crashAfter === 'copy') return done();
  const record = natsHeaders();
  record.set('Nats-Msg-Id', `archive-run-${copy.run.fromSeq}`);
  await jsm.jetstream().publish(ARCHIVE_RUN_SUBJECT, JSON.stringify(copy.run), {
    headers: record,
  });
  step('record');
  if (opts.crashAfter === 'record') return { ...done(), run: copy.run };
  const purged = await purgeMoved(nc, stream, copy.purge, plan.subjects, lastSeq);
  step('purge', purged);
  return { ...done(), run: copy.run };
}

/** The type and data of a live message (undefined when undecodable: then never moved). */
function typeOf(m: RawMessage): { type: string; data?: unknown } | undefined {
  // Only a job's events decide anything (its state, its parent): chunks and workers count by time.
  if (!m.subject.startsWith(`${EVENTS_PREFIX}.job.`)) return { type: '' };
  try {
    return decodeEvent(m.data, { subject: m.subject, seq: m.seq });
  } catch {
    return undefined;
  }
}

async function copyToArchive(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  subjects: ReadonlySet<string>,
  lastSeq: number,
  opts: CompactOptions,
): Promise<{ run: ArchiveRun; copied: number[]; purge: KindPurge[] }> {
  const fromSeq = ((await archiveLastSeq(jsm)) ?? 0) + 1;
  const copied: number[] = [];
  // The same pass notes where each kind's first message that stays lies (its purge's cut).
  const tally = createPurgeTally();
  // Copies sent in order on one connection, an ack asked for every 1,024th only (the server
  // stores them in send order); `checkCopy` reads every one back before anything is purged.
  const sender = new SparseAckSender(nc, fromSeq);
  try {
    for await (const batch of readBatches(nc, jsm, stream, { untilSeq: lastSeq, headers: true })) {
      for (const m of batch) {
        const moved = subjects.has(m.subject);
        tallyForPurge(tally, m.subject, m.seq, moved);
        if (!moved) continue;
        const prev = m.headers?.get(EXPECTED_SEQ_HEADER) ?? '';
        // The dedupe id is per run: a copy sent twice is stored once; a crashed run's copies
        // are never recorded, so a later run copies afresh into its own range.
        const wait = sender.send({
          subject: archiveSubjectOf(m.subject),
          data: m.data,
          headers: {
            'Nats-Msg-Id': `archive-${fromSeq}-${m.seq}`,
            [ORIGINAL_SEQ_HEADER]: String(m.seq),
            [ORIGINAL_TIME_HEADER]: String(m.time),
            ...(prev !== '' ? { [ORIGINAL_PREV_HEADER]: prev } : {}),
          },
        });
        copied.push(m.seq);
        if (wait) await wait;
      }
    }
    await sender.finish();
  } finally {
    sender.close();
  }
  const run = {
    fromSeq,
    toSeq: fromSeq + copied.length - 1,
    minSeq: copied[0] ?? 0,
    maxSeq: copied[copied.length - 1] ?? 0,
    messages: copied.length,
    subjects: subjects.size,
    at: new Date(opts.now).toISOString(),
    olderThanMs: opts.olderThanMs,
  };
  return { run, copied, purge: planPurge(tally, lastSeq) };
}

/** The archive holds exactly the copies, in order, at `fromSeq..toSeq`; else nothing is recorded. */
async function checkCopy(
  nc: NatsConnection,
  jsm: JetStreamManager,
  fromSeq: number,
  toSeq: number,
  copied: readonly number[],
): Promise<void> {
  let i = 0;
  const range = { fromSeq, untilSeq: toSeq, headers: true };
  for await (const batch of readBatches(nc, jsm, ARCHIVE_STREAM, range)) {
    for (const m of batch) {
      const seq = Number(m.headers?.get(ORIGINAL_SEQ_HEADER) ?? '');
      if (m.seq !== fromSeq + i || seq !== copied[i]) {
        throw new SchedulerError(
          ErrorCodes.Refused,
          `archive copy differs at archive seq ${m.seq} (expected original ${copied[i]}, found ${seq}): ` +
            'another compaction may be running; nothing was purged',
        );
      }
      i++;
    }
  }
  if (i !== copied.length) {
    throw new SchedulerError(
      ErrorCodes.Refused,
      `archive copy incomplete: ${i} of ${copied.length} messages found; nothing was purged`,
    );
  }
}
