import {
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError } from './errors.js';
import { inboxOf } from './nats-errors.jetstream.js';

/** One message to send: subject, payload and the headers stored with it. */
export interface OutMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

const decoder = new TextDecoder();

/**
 * Sends a long run of messages to one stream, in order, on one connection, asking for an ack on
 * every `every`-th message and on the last only. The server stores one connection's messages to
 * one stream in the order sent, so a mark's ack (at the sequence it must have) paces the sender
 * like an ack per message would: at most `window` marks are awaited at once. The messages
 * between marks are not acknowledged one by one (a promise, a reply subject, an ack message and
 * its JSON each): one the server refused shows as the next mark stored at the wrong sequence
 * (the last message is always a mark), and what the server stored is only known by reading it
 * back: whoever uses this must do so before trusting it (the compactor's check does).
 */
export class SparseAckSender {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<number, (outcome: Error | undefined) => void>();
  /** Acks of marks sent, oldest first (each resolves; a failure is kept in `failure`). */
  private readonly marks: Promise<void>[] = [];
  /** The message sent one call late, so that the last one goes with a reply at `finish`. */
  private held: OutMessage | undefined;
  private sent = 0;
  failure: Error | undefined;

  /**
   * @param firstSeq the stream sequence the first message must get (the stream's last + 1)
   * @param every one message in `every` asks for its ack
   * @param window marks awaited at once: at most `window * every + every - 1` messages are on
   *   their way unacknowledged (8,191 by default, as many as the compactor had in flight before)
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly firstSeq: number,
    private readonly every = 1_024,
    private readonly window = 7,
    private readonly timeoutMs = 120_000,
  ) {
    this.prefix = inboxOf(nc);
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => this.onAck(err, msg) });
  }

  /**
   * Send `m` after the one before it. Returns a promise only when the window is full (await
   * it): most sends cost no microtask.
   */
  send(m: OutMessage): Promise<void> | undefined {
    const before = this.held;
    this.held = m;
    return before ? this.put(before, this.sent % this.every === this.every - 1) : undefined;
  }

  /** Send the last message with a reply and wait for every mark; throws the first failure. */
  async finish(): Promise<void> {
    if (this.held) await this.put(this.held, true);
    this.held = undefined;
    for (const mark of this.marks.splice(0)) await mark;
    if (this.failure) throw this.failure;
  }

  close(): void {
    if (!this.nc.isClosed()) this.sub.unsubscribe();
    for (const resolve of this.waiting.values())
      resolve(new SchedulerError(ErrorCodes.Unavailable, 'copy closed before its ack'));
    this.waiting.clear();
  }

  private put(m: OutMessage, mark: boolean): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    const index = this.sent++;
    const h = natsHeaders();
    for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
    if (!mark) {
      this.nc.publish(m.subject, m.data, { headers: h });
      return undefined;
    }
    const done = this.acked(index);
    this.nc.publish(m.subject, m.data, { headers: h, reply: `${this.prefix}.${index}` });
    this.marks.push(done);
    return this.marks.length > this.window ? this.drain() : undefined;
  }

  /** Wait until at most `window` marks await their ack. */
  private async drain(): Promise<void> {
    while (this.marks.length > this.window) await this.marks.shift();
    if (this.failure) throw this.failure;
  }

  /** Resolves when the ack of message `index` came (a failure is kept, not thrown). */
  private acked(index: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(index);
        this.failure ??= new SchedulerError(
          ErrorCodes.Timeout,
          `no ack for copy ${index} within ${this.timeoutMs} ms`,
        );
        resolve();
      }, this.timeoutMs);
      this.waiting.set(index, (outcome) => {
        clearTimeout(timer);
        if (outcome) this.failure ??= outcome;
        resolve();
      });
    });
  }

  private onAck(err: Error | null, msg: Msg | undefined): void {
    if (!msg) {
      for (const resolve of this.waiting.values())
        resolve(new SchedulerError(ErrorCodes.Unavailable, err?.message ?? 'acks ended'));
      this.waiting.clear();
      return;
    }
    const index = Number(msg.subject.slice(this.prefix.length + 1));
    const resolve = this.waiting.get(index);
    if (!resolve) return;
    this.waiting.delete(index);
    resolve(this.outcome(index, msg));
  }

  /** Undefined when message `index` is stored where it must be, once; else the failure. */
  private outcome(index: number, msg: Msg): Error | undefined {
    if (msg.headers?.hasError)
      return new SchedulerError(
        ErrorCodes.Unavailable,
        `no JetStream response: ${msg.headers.code} ${msg.headers.description}`,
      );
    const ack = JSON.parse(decoder.decode(msg.data)) as {
      seq?: number;
      duplicate?: boolean;
      error?: { err_code?: number; description?: string };
    };
    const want = this.firstSeq + index;
    if (ack.error || ack.seq !== want || ack.duplicate)
      return new SchedulerError(
        ErrorCodes.Refused,
        `copy ${index} not stored at seq ${want}: ${JSON.stringify(ack)} ` +
          '(another writer on the stream?)',
      );
    return undefined;
  }
}
