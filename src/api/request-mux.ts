import {
  createInbox,
  type Msg,
  type MsgHdrs,
  PermissionViolationError,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError, type ErrorCode } from '../events/index.js';

/** Why a muxed request failed, in `details.kind` of its error (the code says what it means). */
export type RequestFailureKind = 'no-responders' | 'timeout' | 'permission' | 'closed';

const KIND_CODES: Readonly<Record<RequestFailureKind, ErrorCode>> = {
  'no-responders': ErrorCodes.Unavailable,
  timeout: ErrorCodes.Timeout,
  permission: ErrorCodes.Forbidden,
  closed: ErrorCodes.Unavailable,
};

/**
 * A failed muxed request as a Drover error: its code by kind (UNAVAILABLE, TIMEOUT,
 * FORBIDDEN), the kind itself in `details.kind`, so the client never reads the words.
 */
export function requestFailure(
  kind: RequestFailureKind,
  message: string,
  cause?: unknown,
): SchedulerError {
  return new SchedulerError(KIND_CODES[kind], message, {
    details: { kind },
    ...(cause !== undefined && { cause }),
  });
}

interface Pending {
  readonly subject: string;
  readonly deadline: number;
  readonly resolve: (m: Msg) => void;
  readonly reject: (e: SchedulerError) => void;
}

/** The smallest timeout sweep step: a request times out at most this late. */
const SWEEP_MS = 250;

/**
 * Request/reply over one wildcard inbox subscription, a map of pending requests and one swept
 * deadline check, instead of `nc.request`'s per-request timer and the error with a stack trace it
 * builds when each request settles (a tenth of a submitting client's CPU at 64 concurrent
 * submitters). Keeps `nc.request`'s behaviour where it matters: a 503 status is "no responders",
 * and a server permission violation on a request's subject fails that request at once instead
 * of letting it time out.
 */
export class RequestMux {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private sub: Subscription | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix?: string,
  ) {
    this.prefix = createInbox(inboxPrefix);
    void this.watchStatus();
    void nc.closed().then(() => this.failAll('closed', 'connection closed'));
  }

  request(subject: string, data: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<Msg> {
    this.start();
    return new Promise<Msg>((resolve, reject) => {
      const token = (this.next++).toString(36);
      this.pending.set(token, { subject, deadline: Date.now() + timeoutMs, resolve, reject });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${token}`, headers });
      } catch (err) {
        this.pending.delete(token);
        reject(requestFailure('closed', (err as Error).message, err));
      }
    });
  }

  /** Subscribe on first use, so a client that never calls costs nothing. */
  private start(): void {
    if (this.sub) return;
    this.sub = this.nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => {
        if (err) {
          this.sub = undefined; // the server refused the inbox: subscribe again on the next call
          return this.failAll('permission', err.message);
        }
        this.settle(msg);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length + 1);
    const p = this.pending.get(token);
    if (!p) return; // timed out already
    this.pending.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503)
      p.reject(requestFailure('no-responders', `no responders for ${p.subject}`));
    else p.resolve(msg);
  }

  /** A publish permission violation names the subject: fail the oldest request to it. */
  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type !== 'error') continue;
      const e = s.error;
      if (!(e instanceof PermissionViolationError) || e.operation !== 'publish') continue;
      for (const [token, p] of this.pending) {
        if (p.subject !== e.subject) continue;
        this.pending.delete(token);
        p.reject(requestFailure('permission', e.message));
        break;
      }
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(requestFailure('timeout', `timeout: no reply from ${p.subject}`));
    }
  }

  private failAll(kind: RequestFailureKind, message: string): void {
    for (const p of this.pending.values()) p.reject(requestFailure(kind, message));
    this.pending.clear();
    if (kind === 'closed') clearInterval(this.sweeper);
  }
}
