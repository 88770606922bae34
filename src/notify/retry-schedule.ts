/**
 * When to try a webhook again. Pure: the delay before retry `n` is a function of `n` and the
 * policy (and of a `Retry-After` the receiver sent), so the sender's timing is testable without
 * a clock and two senders of the same delivery agree on it.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (at least 1). */
  readonly maxAttempts: number;
  /** Delay before the second attempt; each later delay doubles. */
  readonly baseDelayMs: number;
  /** No delay is longer than this, a receiver's `Retry-After` included. */
  readonly maxDelayMs: number;
}

/** Five attempts over about half a minute: long enough to ride out a receiver's restart. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
};

/**
 * The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed, or
 * undefined when no attempt is left. A receiver's `Retry-After` (seconds) is honoured up to
 * `maxDelayMs`: it knows better than our doubling when it will be back.
 */
export function delayBeforeRetry(
  attempt: number,
  policy: RetryPolicy,
  retryAfterS?: number,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (retryAfterS !== undefined && Number.isFinite(retryAfterS) && retryAfterS >= 0) {
    return Math.min(retryAfterS * 1_000, policy.maxDelayMs);
  }
  return Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
}

/**
 * Whether an HTTP status is worth another attempt: the receiver was down, overloaded or timed
 * out (5xx, 408, 429). Any other 4xx is the receiver saying the request is wrong; sending the
 * same bytes again cannot change its mind, so the delivery fails at once and says why.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** `Retry-After` as seconds: a number of seconds, or an HTTP date relative to `now`. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1_000);
}
