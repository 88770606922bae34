import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  nanos,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Status,
  type Subscription,
} from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, SchedulerError } from './errors.js';
import { inboxOf } from './nats-errors.jetstream.js';
import { nextValue } from './read-turns.jetstream.js';

/** One stored message as read, before decoding. */
export interface RawMessage {
  readonly subject: string;
  readonly seq: number;
  /** Store time, epoch ms. */
  readonly time: number;
  readonly data: Uint8Array;
  /** The stored headers, only when the range asked for them (`headers: true`). */
  readonly headers?: MsgHdrs | undefined;
}

export interface ReadRange {
  readonly filter?: string;
  readonly fromSeq?: number;
  readonly fromTime?: number;
  readonly untilSeq?: number;
  readonly untilTime?: number;
  /** Keep reading live after catching up (a tail) instead of stopping at the end. */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** Keep each message's headers (`drover verify` reads the expected-sequence chain). */
  readonly headers?: boolean;
}

const BATCH = 4_096;
const PULL_EXPIRES_MS = 2_000;
const MAX_REOPENS = 20;
/**
 * How long the subscription of a request given up as gone is kept for its late deliveries (a
 * server silent that long in a session trips the stall watchdog first, which reopens it).
 */
const GONE_KEEP_MS = 30_000;
/** How long past its expiry a pull request without a 408 is taken as gone. */
const EXPIRY_MARGIN_MS = 500;

/**
 * Reads a stream in order, in batches, with an ephemeral pull consumer (no acks, in-memory
 * state) driven by hand over core NATS: pull requests are pipelined and every message's
 * sequence and time come from its reply subject, so no per-message object is built.
 * If the consumer vanishes (server restart), its deliveries jump (some were lost on the way),
 * or the connection reconnects, it is re-created at the next sequence: a reader neither skips
 * nor repeats a message.
 */
export async function* readBatches(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  range: ReadRange,
): AsyncGenerator<RawMessage[]> {
  // What was on its way to this client when its connection dropped is lost, and the consumer
  // (it takes no acks) went on past it: after a reconnect the session is made again at the next
  // sequence. A loss in the middle also shows as a jump of the consumer sequence (`onData`), but
  // a loss of the last messages sent would only show at the next delivery, maybe much later.
  const live: { session?: PullSession } = {};
  const stopWatching = onReconnect(nc, () =>
    live.session?.interrupt(new StalledError('reconnected: deliveries may have been lost')),
  );
  const sessions = readSessions(nc, jsm, stream, range, live);
  try {
    // Not `yield*`: delegation keeps the inner generator's last result (and its batch) while it
    // waits for the next (see `itemsWithTurns` in read-turns.jetstream.ts).
    for (;;) {
      let batch = await nextValue(sessions);
      if (batch === undefined) return;
      yield batch;
      batch = undefined;
    }
  } finally {
    stopWatching();
    await sessions.return(undefined);
  }
}

/** Call `fn` each time `nc` reconnects, until the returned function is called. */
function onReconnect(nc: NatsConnection, fn: () => void): () => void {
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statuses) if (s.type === 'reconnect') fn();
  })().catch(() => undefined);
  return () => statuses.stop?.();
}

/** `readBatches`, each consumer it makes in `live.session` while it reads from it. */
async function* readSessions(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  range: ReadRange,
  live: { session?: PullSession },
): AsyncGenerator<RawMessage[]> {
  // A tail needs no end: asking the stream for it failed a tail started during an outage.
  const endSeq = range.follow
    ? Infinity
    : Math.min(range.untilSeq ?? Infinity, (await jsm.streams.info(stream)).state.last_seq);
  let nextSeq = range.fromSeq ?? 1;
  let byTime = range.fromTime;
  if (!range.follow && (endSeq === 0 || nextSeq > endSeq)) return;
  for (let reopen = 0; ; reopen++) {
    let session: PullSession;
    try {
      session = await PullSession.open(nc, jsm, stream, range.filter, nextSeq, byTime);
      session.withHeaders = range.headers === true;
      live.session = session;
    } catch (err) {
      // A closed connection never comes back: a tail ends, a bounded replay fails.
      if (nc.isClosed()) {
        if (range.follow) return;
        throw closedError(err);
      }
      // The server may be restarting: a tail waits for it; a bounded replay gives up in time.
      if (reopen >= (range.follow ? Infinity : MAX_REOPENS) || range.signal?.aborted) throw err;
      await sleep(Math.min(2_000, 100 * 2 ** Math.min(reopen, 5)));
      continue;
    }
    try {
      if (!range.follow && session.initialPending === 0) return;
      const expected = range.follow ? Infinity : session.initialPending;
      const batches = session.batches(expected, range.signal);
      try {
        for (;;) {
          // Not `for await`: its binding would keep the last batch while the tail waits for the
          // next (see `itemsWithTurns` in read-turns.jetstream.ts).
          let batch = await nextValue(batches);
          if (batch === undefined) break;
          const cut = cutAt(batch, endSeq, range.untilTime);
          const whole = cut === batch.length;
          let out: RawMessage[] | undefined = whole ? batch : batch.slice(0, cut);
          batch = undefined;
          if (out.length) {
            nextSeq = (out[out.length - 1] as RawMessage).seq + 1;
            byTime = undefined;
            yield out;
          }
          out = undefined;
          if (!whole || nextSeq > endSeq || range.signal?.aborted) return;
        }
      } finally {
        await batches.return(undefined);
      }
      if (!range.follow && session.completed) return;
    } catch (err) {
      if (nc.isClosed()) {
        if (range.follow) return;
        throw closedError(err);
      }
      if (range.signal?.aborted) throw err;
      // A tail outlives whatever went wrong with its consumer (a stream leader lost, a 503):
      // ended, it froze what followed it (an API's read model, a leader's view) for good.
      if (!range.follow && (!(err instanceof StalledError) || reopen >= MAX_REOPENS)) throw err;
      if (!(err instanceof StalledError))
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(reopen, 5)));
    } finally {
      await session.close();
    }
    if (range.signal?.aborted) return;
  }
}

/** How many of `batch` fall inside the range's end (by sequence and by store time). */
function cutAt(batch: readonly RawMessage[], endSeq: number, untilTime?: number): number {
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i] as RawMessage;
    if (m.seq > endSeq || (untilTime !== undefined && m.time > untilTime)) return i;
  }
  return batch.length;
}

/** What a bounded read ends with when its connection was closed under it. */
function closedError(cause: unknown): SchedulerError {
  return new SchedulerError(ErrorCodes.Unavailable, 'connection closed during a read', { cause });
}

class StalledError extends SchedulerError {
  constructor(message: string) {
    super(ErrorCodes.Unavailable, message);
    this.name = 'StalledError';
  }
}

/** A pull request still open: its own reply subject, what it may still deliver, when sent. */
interface OpenPull {
  readonly id: number;
  left: number;
  readonly sentAt: number;
  /**
   * The request's own subscription: a delivery's subject is the event's, not the reply subject,
   * so only the subscription it arrives on says which request it fills.
   */
  sub?: Subscription;
}

/** One ephemeral consumer and its pull requests. */
class PullSession {
  private readonly inbox: string;
  /**
   * Requests given up as gone (past their expiry without a 408) keep their subscription for
   * `GONE_KEEP_MS` more: such a request may still deliver (a server slowed by syncing every write
   * to disk answered after the client's expiry margin), and those messages are the consumer's
   * next ones: dropping them made a tail skip events (seen on nats-server 2.15 with
   * `sync_interval: always`: the 100,000-event runtime test saw a job's `queued` without its
   * `submitted`). Not forever: a tail on a server that drops requests silently (2.9) would
   * collect them.
   */
  private gone: OpenPull[] = [];
  private nextPull = 0;
  private buffer: RawMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  /**
   * Each pull request has a reply subject and a subscription of its own, so what it delivered,
   * and what its 408 says it will not, is counted against it alone. With one shared reply
   * subject, nats-server 2.9 was seen (consumer info: num_waiting 0, thousands pending) to drop
   * waiting requests without a 408 while the reader believed three open: the tail stalled until
   * its watchdog reopened the consumer, 6 s later (p90 of submit→running 4 s in such runs). A
   * request past its expiry by a margin is taken as gone, 408 or not.
   */
  private readonly open = new Map<number, OpenPull>();
  private outstanding = 0;
  private received = 0;
  /** The consumer sequence of the last delivery kept: each next one must follow it. */
  private lastDelivery = 0;
  private lastActivity = Date.now();
  completed = false;
  withHeaders = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly consumer: string,
    readonly initialPending: number,
  ) {
    this.inbox = inboxOf(nc);
  }

  static async open(
    nc: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    filter: string | undefined,
    fromSeq: number,
    fromTime: number | undefined,
  ): Promise<PullSession> {
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(30_000),
      ...(filter ? { filter_subject: filter } : {}),
      ...(fromTime !== undefined
        ? {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(fromTime).toISOString(),
          }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, fromSeq) }),
    };
    const info = await jsm.consumers.add(stream, config);
    return new PullSession(nc, jsm, stream, info.name, info.num_pending);
  }

  /** Batches as they arrive, until `expected` messages were delivered (Infinity: forever). */
  async *batches(expected: number, signal?: AbortSignal): AsyncGenerator<RawMessage[]> {
    const onAbort = () => this.wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      this.pull(expected);
      while (this.received < expected || this.buffer.length) {
        if (!this.buffer.length) await this.waitForData(expected);
        if (signal?.aborted) return;
        if (this.failure) throw this.failure;
        let out: RawMessage[] | undefined = this.buffer;
        this.buffer = [];
        if (out.length) yield out;
        out = undefined; // not kept while waiting for the next (see `readSessions`)
        this.pull(expected);
      }
      this.completed = true;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!this.nc.isClosed())
        for (const req of [...this.gone, ...this.open.values()]) req.sub?.unsubscribe();
      this.open.clear();
      this.gone = [];
    }
  }

  /** Fail the session now (its reader reopens it where it stands, or ends with the error). */
  interrupt(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  async close(): Promise<void> {
    await this.jsm.consumers.delete(this.stream, this.consumer).catch(() => undefined);
  }

  /**
   * Keep about two batches requested ahead of what has arrived. Runs from the watchdog's timer
   * too: it never throws. On a closed connection it records the failure and wakes the reader,
   * which ends (a tail) or fails (a bounded read) through its own iterator.
   */
  private pull(expected: number): void {
    try {
      this.request(expected);
    } catch (err) {
      this.failure ??= this.nc.isClosed()
        ? closedError(err)
        : new StalledError(`pull request not sent: ${(err as Error).message}`);
      this.wake?.();
    }
  }

  private request(expected: number): void {
    if (this.nc.isClosed()) throw new Error('connection closed');
    this.forgetExpired();
    while (this.outstanding < 2 * BATCH && this.received + this.outstanding < expected) {
      const batch = Math.min(BATCH, expected - this.received - this.outstanding);
      const id = this.nextPull++;
      const reply = `${this.inbox}.${id}`;
      const req: OpenPull = { id, left: batch, sentAt: Date.now() };
      req.sub = this.nc.subscribe(reply, { callback: (err, msg) => this.onMsg(req, err, msg) });
      this.open.set(id, req);
      this.outstanding += batch;
      const body = JSON.stringify({ batch, expires: nanos(PULL_EXPIRES_MS) });
      this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`, body, {
        reply,
      });
    }
  }

  /**
   * The request will deliver no more (filled, or ended by the server): its remainder is no
   * longer counted as requested, and its subscription ends.
   */
  private settle(req: OpenPull): void {
    if (!this.forget(req)) return;
    if (!this.nc.isClosed()) req.sub?.unsubscribe();
  }

  /** No longer counted as requested; returns false when it was not open. */
  private forget(req: OpenPull): boolean {
    if (!this.open.delete(req.id)) return false;
    this.outstanding -= req.left;
    req.left = 0;
    return true;
  }

  /**
   * Requests well past their expiry are gone, whether or not their 408 came; their
   * subscriptions stay a while for late deliveries (see `gone`).
   */
  private forgetExpired(): void {
    const deadline = Date.now() - PULL_EXPIRES_MS - EXPIRY_MARGIN_MS;
    for (const req of this.open.values())
      if (req.sentAt < deadline && this.forget(req)) this.gone.push(req);
    const long = Date.now() - PULL_EXPIRES_MS - GONE_KEEP_MS;
    while (this.gone.length && (this.gone[0] as OpenPull).sentAt < long) {
      const req = this.gone.shift() as OpenPull;
      if (!this.nc.isClosed()) req.sub?.unsubscribe();
    }
  }

  private waitForData(expected: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const watchdog = setInterval(() => {
        if (Date.now() - this.lastActivity > 3 * PULL_EXPIRES_MS) {
          this.failure = new StalledError(`consumer ${this.consumer} stopped answering`);
          finish();
        } else {
          this.pull(expected); // re-requests what vanished silently (see `open`)
        }
      }, EXPIRY_MARGIN_MS);
      const finish = () => {
        clearInterval(watchdog);
        this.wake = undefined;
        resolve();
      };
      this.wake = finish;
      if (this.buffer.length || this.failure || this.received >= expected) finish();
    });
  }

  private onMsg(sentBy: OpenPull, err: Error | null, msg: Msg): void {
    this.lastActivity = Date.now();
    if (err || !msg) {
      // The subscription itself failed (closed, or a permission refused): no message with it.
      this.failure ??= new StalledError(err?.message ?? 'subscription ended');
      this.wake?.();
      return;
    }
    // A request already given up as gone is not open: its data is still kept.
    const req = this.open.has(sentBy.id) ? sentBy : undefined;
    if (msg.reply) this.onData(req, msg);
    else this.onStatus(req, msg);
    this.wake?.();
  }

  private onData(req: OpenPull | undefined, msg: Msg): void {
    const { seq, time, delivery } = parseAckReply(msg.reply as string);
    this.count(req);
    // The consumer takes no acks: it counts a message delivered once it sent it. A jump of its
    // sequence means deliveries lost on the way (a client's server died while the consumer's
    // did not): nothing from here is kept, and the reader reopens at the next sequence it lacks.
    if (this.failure || delivery <= this.lastDelivery) return;
    if (delivery !== this.lastDelivery + 1) {
      this.failure = new StalledError(
        `deliveries lost: consumer sequence ${delivery} after ${this.lastDelivery}`,
      );
      return;
    }
    this.lastDelivery = delivery;
    this.buffer.push(
      this.withHeaders
        ? { subject: msg.subject, seq, time, data: msg.data, headers: msg.headers }
        : { subject: msg.subject, seq, time, data: msg.data },
    );
  }

  /** One message delivered for `req`: received, and no longer outstanding. */
  private count(req: OpenPull | undefined): void {
    this.received++;
    if (!req) return;
    if (req.left > 0) {
      req.left--;
      this.outstanding--;
    }
    if (req.left === 0) this.settle(req);
  }

  private onStatus(req: OpenPull | undefined, msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (code === 100) return; // heartbeat
    if (req) this.settle(req);
    if (code === 408 || code === 404) return; // that request ended short: the next pull re-asks
    this.failure = new StalledError(`pull failed: ${code} ${msg.headers?.description ?? ''}`);
  }
}

/**
 * Stream sequence, store time (ms) and consumer sequence (`delivery`) from a JetStream
 * delivery's reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (9 tokens), or the
 * 12-token form with `<domain>.<account hash>` after `ACK` and a random token at the end.
 * Scans from the end instead of splitting: this runs once per replayed message.
 * @internal exported for tests
 */
export function parseAckReply(reply: string): { seq: number; time: number; delivery: number } {
  const dots: number[] = [];
  for (let i = reply.length - 1; i >= 0 && dots.length < 6; i--) {
    if (reply.charCodeAt(i) === 46 /* . */) dots.push(i);
  }
  // dots[k] is the (k+1)-th dot from the end. v1 ends in `.sseq.cseq.ts.pending`.
  const v2 = countDots(reply) >= 11;
  const o = v2 ? 1 : 0;
  const ts = reply.slice((dots[1 + o] as number) + 1, dots[o] as number);
  const seq = reply.slice((dots[3 + o] as number) + 1, dots[2 + o] as number);
  const delivery = reply.slice((dots[2 + o] as number) + 1, dots[1 + o] as number);
  return { seq: Number(seq), time: Math.floor(Number(ts) / 1e6), delivery: Number(delivery) };
}

function countDots(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 46) n++;
  return n;
}
