import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_RETRY_POLICY,
  delayBeforeRetry,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
} from './retry-schedule.js';

/** One notification to deliver: the same key on every attempt, so the receiver can dedupe. */
export interface WebhookDelivery {
  readonly url: string;
  readonly body: object;
  /** Sent as `Idempotency-Key`; stable across attempts and across a sender's restart. */
  readonly idempotencyKey: string;
}

/** What one HTTP attempt came to; the caller records each as an event. */
export type WebhookAttempt =
  | { readonly attempt: number; readonly at: number; readonly ok: true; readonly status: number }
  | {
      readonly attempt: number;
      readonly at: number;
      readonly ok: false;
      /** The receiver's status, absent when it never answered (refused, reset, timed out). */
      readonly status?: number;
      readonly error: string;
      /** Milliseconds until the next attempt; absent when this was the last. */
      readonly retryInMs?: number;
    };

/** How a delivery ended. `closed`: the sender was closed before it could finish. */
export type WebhookOutcome =
  | { readonly ok: true; readonly attempts: number; readonly status: number }
  | {
      readonly ok: false;
      readonly attempts: number;
      readonly reason: 'exhausted' | 'rejected' | 'closed';
      readonly error: string;
    };

export interface WebhookSenderOptions {
  readonly policy?: RetryPolicy;
  /** One attempt's limit: a receiver that hangs is a failed attempt, not a stuck sender. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** The clock for `at` and `Retry-After` dates (tests pass their own). */
  readonly now?: () => number;
}

export interface WebhookSender {
  /**
   * POST `body` as JSON until the receiver answers 2xx, retrying with backoff while it is down
   * (5xx, 408, 429, no answer). `onAttempt` runs after every attempt and is awaited, so the
   * caller's record of attempt n is written before attempt n+1 is made. Never throws for HTTP
   * or network failures (they are the outcome); rethrows what `onAttempt` throws.
   */
  deliver(
    delivery: WebhookDelivery,
    onAttempt?: (attempt: WebhookAttempt) => Promise<void> | void,
  ): Promise<WebhookOutcome>;
  /** Abort every attempt and wait in flight; their outcomes are `closed`. Idempotent. */
  close(): Promise<void>;
}

/**
 * The one webhook sender (pipelines' notifications and alerts use it). At least once: a
 * delivery is retried until it is acknowledged or out of attempts; what is not acknowledged
 * when the process dies is the caller's to send again from its events (its outbox), with the
 * same idempotency key.
 */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const closing = new AbortController();
  const inFlight = new Set<Promise<WebhookOutcome>>();

  async function attemptOnce(
    d: WebhookDelivery,
  ): Promise<{ status?: number; error?: string; retryAfterS?: number }> {
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': d.idempotencyKey,
          'user-agent': options.userAgent ?? 'drover',
        },
        body: JSON.stringify(d.body),
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
      });
      // Drain the body so the connection goes back to the pool instead of leaking.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { status: res.status };
      return {
        status: res.status,
        error: `HTTP ${res.status} ${res.statusText}`.trim(),
        retryAfterS: parseRetryAfter(res.headers.get('retry-after'), now()),
      };
    } catch (err) {
      return { error: describeFetchError(err) };
    }
  }

  async function run(
    d: WebhookDelivery,
    onAttempt?: (a: WebhookAttempt) => Promise<void> | void,
  ): Promise<WebhookOutcome> {
    for (let attempt = 1; ; attempt++) {
      if (closing.signal.aborted) return closed(attempt - 1);
      const r = await attemptOnce(d);
      const at = now();
      if (r.error === undefined && r.status !== undefined) {
        await onAttempt?.({ attempt, at, ok: true, status: r.status });
        return { ok: true, attempts: attempt, status: r.status };
      }
      if (closing.signal.aborted) return closed(attempt);
      const retryable = r.status === undefined || isRetryableStatus(r.status);
      const retryInMs = retryable ? delayBeforeRetry(attempt, policy, r.retryAfterS) : undefined;
      const error = r.error ?? 'unknown error';
      await onAttempt?.({
        attempt,
        at,
        ok: false,
        ...(r.status !== undefined ? { status: r.status } : {}),
        error,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
      });
      if (!retryable) return { ok: false, attempts: attempt, reason: 'rejected', error };
      if (retryInMs === undefined)
        return { ok: false, attempts: attempt, reason: 'exhausted', error };
      try {
        await sleep(retryInMs, undefined, { signal: closing.signal });
      } catch {
        return closed(attempt);
      }
    }
  }

  return {
    deliver(d, onAttempt) {
      const p = run(d, onAttempt);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
      return p;
    },
    async close() {
      closing.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

function closed(attempts: number): WebhookOutcome {
  return { ok: false, attempts, reason: 'closed', error: 'the sender was closed' };
}

/** fetch's errors hide the useful part in `cause` (ECONNREFUSED, a timeout): name it. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'no answer before the timeout';
    if (err.name === 'AbortError') return 'aborted';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}
