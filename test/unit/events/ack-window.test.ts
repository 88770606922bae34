import { describe, expect, it } from 'vitest';
import { AckWindow } from '../../../src/events/ack-window.js';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

describe('AckWindow', () => {
  it('settle(n) waits until at most n acks are outstanding', async () => {
    const w = new AckWindow();
    const acks = [deferred(), deferred(), deferred()];
    for (const a of acks) w.track(a.promise);
    expect(w.size).toBe(3);
    let settled = false;
    const done = w.settle(1).then(() => (settled = true));
    acks[0]!.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    acks[1]!.resolve();
    await done;
    expect(w.size).toBe(1);
    expect(w.failure).toBeUndefined();
  });

  it('a failed ack ends the wait at once and is kept (the first only)', async () => {
    const w = new AckWindow();
    const acks = [deferred(), deferred(), deferred()];
    for (const a of acks) w.track(a.promise);
    const done = w.settle(0);
    acks[1]!.reject(new Error('first'));
    await done;
    acks[2]!.reject(new Error('second'));
    await w.settle(1);
    expect(w.failure?.message).toBe('first');
  });
});
