import { headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError } from './errors.js';
import { inboxOf } from './nats-errors.jetstream.js';

/** What the stream answered for one publish. */
export type PublishOutcome =
  | { readonly kind: 'stored'; readonly seq: number; readonly duplicate: boolean }
  | { readonly kind: 'conflict'; readonly actualSeq: number | undefined };

/** A publish not sent yet. */
interface Pending {
  readonly send: () => void;
  readonly reject: (e: Error) => void;
}

interface Waiter {
  readonly resolve: (o: PublishOutcome) => void;
  readonly reject: (e: Error) => void;
  readonly sentAt: number;
}

/**
 * JetStream's `err_code`s for a failed `Nats-Expected-Last-Subject-Sequence` check: 10071
 * ("wrong last sequence: <seq>"), and 10164 ("wrong last sequence", no number), which a
 * clustered stream answers while another message to the subject is still being replicated:
 * the same conflict, its winner not known yet. Taken for an error, it skipped the caller's
 * reload-and-decide (test/integration/cluster/append-race.int.test.ts).
 */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
const decoder = new TextDecoder();

/**
 * Publishes to JetStream with core NATS: each message carries a reply subject under one inbox
 * prefix, and a single wildcard subscription routes the acks back. This is the "hand-rolled"
 * path of the facts note (~2.5x the throughput of `js.publish`, which builds a request, a timer
 * and an error with a stack trace per message). Timeouts are swept, not timed per message.
 */
export class JetStreamPublisher {
  private readonly prefix: string;
  private readonly waiters = new Map<string, Waiter>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private next = 0;
  /** Publishes waiting for a free slot in the window (a deque: `head` is its front). */
  private queued: Pending[] = [];
  private head = 0;

  /**
   * @param maxInFlight the window: at most this many publishes await their ack; the rest wait
   *   in memory, and their timeout counts from when they are sent, so a burst of 100,000 appends
   *   is paced by the server instead of timing out on the client.
   * @param latency `'turn'` (default) gathers the publishes of a turn of the event loop into one
   *   write at its end; `'now'` sends each at once when nothing waits before it (the window has
   *   room, nothing is queued or gathered), so a lone publish leaves in the turn it was made in
   *   instead of after the turn's other callbacks. Publishes made in one callback still share a
   *   write (the client flushes once per microtask checkpoint). The API's intake uses `'now'`:
   *   a submission's round trip waits on it, and it is one publish per request.
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5_000,
    private readonly maxInFlight = 1_024,
    private readonly latency: 'turn' | 'now' = 'turn',
  ) {
    this.prefix = inboxOf(nc);
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => this.onAck(err, msg) });
    this.sweeper = setInterval(() => this.sweep(), Math.min(1_000, timeoutMs)).unref();
  }

  /**
   * Publish one message. `expectedSeq` makes it conditional on the subject's last sequence
   * (0 = no message yet); `msgId` makes it idempotent within the stream's duplicate window;
   * `extra` headers are stored with the message (an archive copy's original sequence).
   */
  publish(
    subject: string,
    payload: Uint8Array,
    msgId: string,
    expectedSeq?: number,
    extra?: Readonly<Record<string, string>>,
  ): Promise<PublishOutcome> {
    return new Promise<PublishOutcome>((resolve, reject) => {
      const send = () => {
        const token = (this.next++).toString(36);
        const h = headers();
        h.set('Nats-Msg-Id', msgId);
        if (expectedSeq !== undefined)
          h.set('Nats-Expected-Last-Subject-Sequence', String(expectedSeq));
        if (extra) for (const [k, v] of Object.entries(extra)) h.set(k, v);
        this.waiters.set(token, { resolve, reject, sentAt: Date.now() });
        try {
          this.nc.publish(subject, payload, { reply: `${this.prefix}.${token}`, headers: h });
        } catch (err) {
          this.waiters.delete(token);
          this.release();
          reject(
            new SchedulerError(ErrorCodes.Unavailable, `publish to ${subject} failed`, {
              cause: err,
            }),
          );
        }
      };
      const free = this.inFlight < this.maxInFlight && this.head === this.queued.length;
      if (free && this.latency === 'now' && this.turn.length === 0) send();
      else if (free) this.soon({ send, reject });
      else this.queued.push({ send, reject });
    });
  }

  /**
   * Send at the end of this turn of the event loop, with every other publish of the turn: the
   * client writes what is pending to the socket once per microtask checkpoint, so publishes
   * made from different callbacks (an ack, a file written, a timer) each cost a write(2) of
   * their own. Gathered, a busy agent makes one write per turn instead of one per append.
   */
  private soon(p: Pending): void {
    this.turn.push(p);
    if (this.turn.length === 1) setImmediate(this.flushTurn);
  }

  private turn: Pending[] = [];
  private readonly flushTurn = () => {
    const sends = this.turn;
    this.turn = [];
    for (const p of sends) p.send();
  };

  /** Sent and awaiting their ack, or about to be sent this turn. */
  private get inFlight(): number {
    return this.waiters.size + this.turn.length;
  }

  /** Publishes waiting for the window (not yet sent). */
  get backlog(): number {
    return this.queued.length - this.head;
  }

  /**
   * Move queued publishes into this turn's sends while the window has room. Not sent at once:
   * publishes of this turn made before these were queued are still to go, and the server
   * stores in the order it receives (an archive copy must keep the original order).
   */
  private release(): void {
    while (this.head < this.queued.length && this.inFlight < this.maxInFlight) {
      this.soon(this.queued[this.head++]!);
    }
    if (this.head === this.queued.length) {
      this.queued = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queued.length) {
      this.queued = this.queued.slice(this.head);
      this.head = 0;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    if (!this.nc.isClosed()) this.sub.unsubscribe();
    const unsent = [...this.turn, ...this.queued.slice(this.head)];
    for (const p of unsent)
      p.reject(new SchedulerError(ErrorCodes.Unavailable, 'event log closed'));
    this.turn = [];
    this.queued = [];
    this.head = 0;
    for (const w of this.waiters.values()) {
      w.reject(new SchedulerError(ErrorCodes.Unavailable, 'event log closed before the ack'));
    }
    this.waiters.clear();
  }

  private onAck(err: Error | null, msg: Msg | undefined): void {
    if (!msg) {
      // The ack subscription failed as a whole (closed connection, refused permission): every
      // publish awaiting an ack is answered now instead of by the sweeper, and nothing throws.
      this.failAll(err?.message ?? 'ack subscription ended');
      return;
    }
    const token = msg.subject.slice(this.prefix.length + 1);
    const waiter = this.waiters.get(token);
    if (!waiter) return; // swept already: the caller saw a timeout and will retry idempotently
    this.waiters.delete(token);
    this.release();
    if (err)
      return waiter.reject(new SchedulerError(ErrorCodes.Unavailable, err.message, { cause: err }));
    if (msg.headers?.hasError) {
      // 503: no stream answered (stream missing, or JetStream down).
      return waiter.reject(
        new SchedulerError(
          ErrorCodes.Unavailable,
          `no JetStream response: ${msg.headers.code} ${msg.headers.description}`,
        ),
      );
    }
    const outcome = toOutcome(msg.data);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  private failAll(why: string): void {
    for (const w of this.waiters.values())
      w.reject(new SchedulerError(ErrorCodes.Unavailable, `publish not acknowledged: ${why}`));
    this.waiters.clear();
    this.release();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.timeoutMs;
    for (const [token, w] of this.waiters) {
      if (w.sentAt > cutoff) continue;
      this.waiters.delete(token);
      w.reject(
        new SchedulerError(ErrorCodes.Timeout, `no publish ack within ${this.timeoutMs} ms`),
      );
    }
    this.release();
  }
}

interface PubAckJson {
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description?: string };
}

/** The single mapper from JetStream ack codes to outcomes (STYLE.md §4). */
function toOutcome(data: Uint8Array): PublishOutcome | SchedulerError {
  const ack = JSON.parse(decoder.decode(data)) as PubAckJson;
  if (ack.error) {
    if (ack.error.err_code !== undefined && WRONG_LAST_SEQUENCE.has(ack.error.err_code)) {
      const m = /(\d+)\s*$/.exec(ack.error.description ?? '');
      return { kind: 'conflict', actualSeq: m ? Number(m[1]) : undefined };
    }
    return new SchedulerError(
      ErrorCodes.Unavailable,
      `JetStream refused the publish: ${ack.error.err_code ?? ack.error.code} ${ack.error.description ?? ''}`,
    );
  }
  return { kind: 'stored', seq: ack.seq ?? 0, duplicate: ack.duplicate === true };
}
