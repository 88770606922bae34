import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { heapRelease } from '../../../src/scheduler/heap-release.service.js';

/** A release that takes `ms` of the fake clock, counting its calls. */
function fakeRelease(ms: number) {
  const t = { now: 0, calls: 0 };
  const release = async () => {
    t.calls++;
    t.now += ms;
    return true;
  };
  return { t, release };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('heapRelease', () => {
  const logger = pino({ level: 'silent' });

  // [release length, when the next is asked for, whether it runs]: short releases every 30 s;
  // a long one (the chaos run's took 2-12 s) about 1% of the time, 100 times its length.
  it.each([
    [100, 29_000, false],
    [100, 30_001, true],
    [2_000, 150_000, false],
    [2_000, 200_001, true],
  ])('after a release of %i ms, one asked at %i ms runs: %s', async (ms, at, runs) => {
    const { t, release } = fakeRelease(ms);
    const rel = heapRelease(logger, () => t.now, release);
    rel('first', 'burst');
    await settle();
    t.now = at;
    rel('next', 'burst');
    await settle();
    expect(t.calls).toBe(runs ? 2 : 1);
  });

  it('lets each catch-up release run, and each kind keep its own spacing', async () => {
    const { t, release } = fakeRelease(2_000);
    const rel = heapRelease(logger, () => t.now, release);
    rel('a', 'catch-up');
    await settle();
    rel('b', 'catch-up');
    await settle();
    rel('c', 'round');
    await settle();
    expect(t.calls).toBe(3);
  });
});
