import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  delayBeforeRetry,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
} from '../../../src/notify/index.js';

const policyArb = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 12 }),
    baseDelayMs: fc.integer({ min: 1, max: 10_000 }),
    extra: fc.integer({ min: 0, max: 100_000 }),
  })
  .map(({ maxAttempts, baseDelayMs, extra }): RetryPolicy => ({
    maxAttempts,
    baseDelayMs,
    maxDelayMs: baseDelayMs + extra,
  }));

describe('when a webhook is tried again', () => {
  test.prop([policyArb])('exactly maxAttempts - 1 retries, delays doubling up to the cap', (p) => {
    const delays: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const d = delayBeforeRetry(attempt, p);
      if (d === undefined) break;
      delays.push(d);
    }
    expect(delays).toHaveLength(p.maxAttempts - 1);
    delays.forEach((d, i) => {
      expect(d).toBeLessThanOrEqual(p.maxDelayMs);
      expect(d).toBe(Math.min(p.baseDelayMs * 2 ** i, p.maxDelayMs));
      if (i > 0) expect(d).toBeGreaterThanOrEqual(delays[i - 1]!);
    });
  });

  test.prop([policyArb, fc.integer({ min: 0, max: 10_000 })])(
    "a receiver's Retry-After is honoured, never beyond the cap",
    (p, retryAfterS) => {
      const d = delayBeforeRetry(1, p, retryAfterS);
      if (p.maxAttempts === 1) expect(d).toBeUndefined();
      else expect(d).toBe(Math.min(retryAfterS * 1_000, p.maxDelayMs));
    },
  );

  it('retries a receiver that is down or busy, not one that rejects the request', () => {
    expect([500, 502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 422].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-05T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Sat, 05 Dec 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sat, 05 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
