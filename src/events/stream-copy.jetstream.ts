import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError } from './errors.js';
import { JetStreamPublisher, type PublishOutcome } from './publisher.jetstream.js';
import { readBatches } from './reader.jetstream.js';
import { EXPECTED_SEQ_HEADER } from './verify.jetstream.js';

/** A stored message with everything a copy needs to store it again at the same sequence. */
export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  /** Store time, epoch ms (informational: a copy is stored at its own time). */
  readonly time: number;
  /** Header name/value pairs as stored (undefined: none). */
  readonly headers?: [string, string][] | undefined;
  readonly data: Uint8Array;
}

/** Read a stream's messages, with their headers, in order, in batches. */
export async function* readStoredMessages(
  nc: NatsConnection,
  stream: string,
  range: { fromSeq?: number; untilSeq: number },
): AsyncGenerator<StoredMessage[]> {
  if (range.untilSeq < (range.fromSeq ?? 1)) return;
  const jsm = await jetstreamManager(nc);
  for await (const batch of readBatches(nc, jsm, stream, { ...range, headers: true })) {
    yield batch.map((m) => {
      const h = m.headers;
      const pairs = h
        ? [...h.keys()].flatMap((k) => h.values(k).map((v): [string, string] => [k, v]))
        : [];
      return {
        seq: m.seq,
        subject: m.subject,
        time: m.time,
        ...(pairs.length ? { headers: pairs } : {}),
        data: m.data,
      };
    });
  }
}

const MSG_ID = 'Nats-Msg-Id';
/** Acks awaited at once while copying (the publisher's own window paces the sends). */
const PIPELINE = 4_096;

/**
 * Stores messages into an empty stream at exactly their original sequences, with their original
 * headers: an event's `Nats-Expected-Last-Subject-Sequence` is checked by the server again, so a
 * copy that drifted by one sequence fails at once instead of producing a log that lies.
 * A sequence missing from the source (a hole) is reproduced: a filler is stored there (on the
 * subject whose chain points at it, so the chain link after it is accepted) and deleted at the
 * end, so the copy has the same holes as the source. The stream must allow deletes until
 * `finish` (turn `deny_delete` on afterwards).
 */
export class ExactStreamWriter {
  private readonly publisher: JetStreamPublisher;
  private readonly fillers: number[] = [];
  private pending: Promise<void>[] = [];
  private next = 1;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    /** For a hole's sequence, the subject whose next event names it as its predecessor. */
    private readonly holeSubjects: ReadonlyMap<number, string>,
    private readonly defaultFillerSubject: string,
  ) {
    this.publisher = new JetStreamPublisher(nc, 30_000);
  }

  /**
   * Start the copy at `firstSeq` (a source whose older messages aged out): an empty stream's
   * next sequence is moved there by a purge, not by fillers. Call before the first `write`.
   */
  async startAt(firstSeq: number): Promise<void> {
    if (firstSeq <= 1) return;
    await this.jsm.streams.purge(this.stream, { seq: firstSeq });
    this.next = firstSeq;
  }

  /** Store `m` at `m.seq` (after every earlier one; sequences must increase). */
  async write(m: StoredMessage): Promise<void> {
    if (m.seq < this.next) throw diverged(m.seq, `already at ${this.next}`);
    if (m.seq > this.next) await this.fillTo(m.seq);
    const id = m.headers?.find(([k]) => k === MSG_ID)?.[1];
    const expected = m.headers?.find(([k]) => k === EXPECTED_SEQ_HEADER)?.[1];
    const plain = m.headers?.every(([k]) => k === MSG_ID || k === EXPECTED_SEQ_HEADER) ?? false;
    this.next = m.seq + 1;
    if (plain && id !== undefined) {
      const exp = expected === undefined ? undefined : Number(expected);
      const out = this.publisher.publish(m.subject, m.data, id, exp);
      const checked = out.then((o) => checkOutcome(o, m.seq));
      checked.catch(() => undefined); // awaited (and thrown) by `drain`
      this.pending.push(checked);
      if (this.pending.length >= PIPELINE) await this.drain();
      return;
    }
    await this.drain();
    const h = natsHeaders();
    for (const [k, v] of m.headers ?? []) h.append(k, v);
    await this.request(m.subject, m.data, m.headers?.length ? h : undefined, m.seq);
  }

  /**
   * Reproduce the missing tail up to `lastSeq` (the source's last sequence), delete the fillers,
   * and release the publisher.
   */
  async finish(lastSeq: number): Promise<{ fillers: number }> {
    if (lastSeq >= this.next) await this.fillTo(lastSeq + 1);
    await this.drain();
    for (const seq of this.fillers) await this.jsm.streams.deleteMessage(this.stream, seq, false);
    await this.publisher.close();
    return { fillers: this.fillers.length };
  }

  private async fillTo(seq: number): Promise<void> {
    await this.drain();
    for (let s = this.next; s < seq; s++) {
      const subject = this.holeSubjects.get(s) ?? this.defaultFillerSubject;
      await this.request(subject, new Uint8Array(), undefined, s);
      this.fillers.push(s);
    }
    this.next = seq;
  }

  private async drain(): Promise<void> {
    const all = this.pending;
    this.pending = [];
    await Promise.all(all);
  }

  private async request(
    subject: string,
    data: Uint8Array,
    h: ReturnType<typeof natsHeaders> | undefined,
    seq: number,
  ): Promise<void> {
    const reply = await this.nc.request(subject, data, {
      timeout: 30_000,
      ...(h ? { headers: h } : {}),
    });
    const ack = JSON.parse(new TextDecoder().decode(reply.data)) as {
      seq?: number;
      error?: { description?: string };
    };
    if (ack.error) throw diverged(seq, ack.error.description ?? 'refused');
    if (ack.seq !== seq) throw diverged(seq, `stored at ${ack.seq}`);
  }
}

function checkOutcome(o: PublishOutcome, seq: number): void {
  if (o.kind === 'conflict') throw diverged(seq, `its entity's last sequence is ${o.actualSeq}`);
  if (o.duplicate)
    throw diverged(seq, 'its event id was stored already (a duplicate in the source)');
  if (o.seq !== seq) throw diverged(seq, `stored at ${o.seq}`);
}

function diverged(seq: number, why: string): SchedulerError {
  return new SchedulerError(
    ErrorCodes.Refused,
    `restore diverged from the source at seq ${seq}: ${why}`,
  );
}
