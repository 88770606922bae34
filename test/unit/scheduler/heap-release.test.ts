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

  it('runs a kind at most once per 30 s when releases are short', async () => {
    const { t, release } = fakeRelease(100);
    const rel = heapRelease(logger, () => t.now, release);
    rel('a', 'burst');
    await settle();
    t.now = 29_000;
    rel('b', 'burst');
    await settle();
    expect(t.calls).toBe(1);
    t.now = 30_001;
    rel('c', 'burst');
    await settle();
    expect(t.calls).toBe(2);
  });

  it('keeps a long release to about 1% of the time', async () => {
    // The chaos run's releases took 2-12 s; every 30 s that blocked a busy leader a fifth of it.
    const { t, release } = fakeRelease(2_000);
    const rel = heapRelease(logger, () => t.now, release);
    rel('a', 'burst');
    await settle();
    t.now = 150_000;
    rel('b', 'burst');
    await settle();
    expect(t.calls).toBe(1);
    t.now = 200_001;
    rel('c', 'burst');
    await settle();
    expect(t.calls).toBe(2);
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
