import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createKeyedQueue, type EntityRuntime } from '../../../src/actors/index.js';
import {
  ErrorCodes,
  SchedulerError,
  type Actor,
  type JetStreamPublisher,
} from '../../../src/events/index.js';
import { ActionRunner } from '../../../src/scheduler/action-runner.service.js';
import type { Action } from '../../../src/scheduler/rules.js';

const by: Actor = { kind: 'scheduler', id: 's', epoch: 1 };
const start: Action = {
  entity: 'job',
  id: 'j1',
  command: { type: 'StartJob', id: 'start:j1', at: 0, by },
};

/** A runner whose every execute fails as an append with no stream to answer does. */
function failingRunner(canWrite = true) {
  const queue = createKeyedQueue();
  const runtime = {
    execute: () =>
      Promise.reject(new SchedulerError(ErrorCodes.Unavailable, 'no JetStream response: 503')),
  } as unknown as EntityRuntime;
  const runner = new ActionRunner({
    runtime,
    queue,
    work: {} as JetStreamPublisher,
    canWrite: () => canWrite,
    changed: () => {},
    logger: pino({ level: 'silent' }),
  });
  return { runner, queue };
}

describe('ActionRunner: what is owed to the next sweep', () => {
  it('an action that failed (a leader change: no ack, no stream) is owed', async () => {
    const { runner, queue } = failingRunner();
    runner.run([start]);
    await queue.idle();
    await new Promise((r) => setImmediate(r)); // the failure's handler runs after the queue's
    // Before: only skipped actions were owed, and a failed one waited for its entity's next
    // change, which may never come (the last settlement of a job: it stays running).
    expect(runner.missed).toBe(true);
  });

  it('an action skipped while the lease is not held is owed', async () => {
    const { runner, queue } = failingRunner(false);
    runner.run([start]);
    await queue.idle();
    expect(runner.missed).toBe(true);
  });
});
