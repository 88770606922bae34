import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEvent } from './codec.js';
import {
  finishIntegrityCheck,
  observeEntry,
  startIntegrityCheck,
  type IntegrityReport,
  type LogEntry,
} from './integrity.js';
import { readWithArchive } from './archive.jetstream.js';
import type { RawMessage } from './reader.jetstream.js';
import { EVENTS_STREAM } from './subjects.js';

/** The header every Drover append carries: the entity's previous stream sequence. */
export const EXPECTED_SEQ_HEADER = 'Nats-Expected-Last-Subject-Sequence';

export interface VerifyLogOptions {
  readonly stream?: string;
  /** Reports kept per kind (default 1,000; the rest are counted). */
  readonly limit?: number;
}

/** A verification of the event stream: the integrity report plus what it took. */
export interface LogVerification extends IntegrityReport {
  readonly stream: string;
  readonly elapsedMs: number;
}

/**
 * Walk the whole event stream in order and check it is whole (see `integrity.ts`): no missing
 * stream sequence, every entity's chain of expected sequences intact, no event id twice, every
 * message decodable. Reads up to the stream's last sequence when the walk begins; what is
 * appended meanwhile is left for the next run.
 */
export async function verifyEventLog(
  nc: NatsConnection,
  opts: VerifyLogOptions = {},
): Promise<LogVerification> {
  const started = performance.now();
  const stream = opts.stream ?? EVENTS_STREAM;
  const jsm = await jetstreamManager(nc);
  const lastSeq = (await jsm.streams.info(stream)).state.last_seq;
  const check = startIntegrityCheck(opts.limit !== undefined ? { limit: opts.limit } : {});
  const range = { fromSeq: 1, untilSeq: lastSeq, headers: true };
  if (lastSeq > 0) {
    // Compacted entities are read back from the archive at their original sequences: a move
    // leaves no hole, and an archived entity's chain is checked as any other.
    for await (const batch of readWithArchive(nc, jsm, stream, range)) {
      for (const m of batch) observeEntry(check, toEntry(m));
    }
  }
  const report = finishIntegrityCheck(check, lastSeq);
  return { stream, ...report, elapsedMs: Math.round(performance.now() - started) };
}

/** One stored message as the integrity check sees it: chain link, event id or why not. */
export function toEntry(m: RawMessage): LogEntry {
  const header = m.headers?.get(EXPECTED_SEQ_HEADER) ?? '';
  const prev = header === '' ? undefined : Number(header);
  try {
    const e = decodeEvent(m.data, { subject: m.subject, seq: m.seq });
    return { subject: m.subject, seq: m.seq, prev, id: e.id };
  } catch (err) {
    return { subject: m.subject, seq: m.seq, prev, undecodable: (err as Error).message };
  }
}
