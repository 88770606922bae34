import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  createKeyedQueue,
  jobBehaviour,
  stateName,
  type CommandMeta,
  type JobCommand,
} from '../../../src/actors/index.js';
import type { Actor, JetStreamPublisher } from '../../../src/events/index.js';
import { ActionRunner } from '../../../src/scheduler/action-runner.service.js';
import type { Change } from '../../../src/scheduler/entity-view.js';
import { closeAfter, closeId } from '../../../src/scheduler/job-close.js';
import { jobSpec, uid } from '../../support/events.js';
import { useEventLog } from '../../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const by: Actor = { kind: 'scheduler', id: 'sched-a', epoch: 1 };
let tick = 1_700_000_000_000;
const meta = (): CommandMeta => ({ id: randomUUID(), at: tick++, by });

/**
 * A runner with the scheduler's follow-up, over a real log; `writes` says when it may write,
 * `heard` is told of each change after it is recorded.
 */
function runnerOn(writes: () => boolean = () => true, heard: (c: Change) => void = () => {}) {
  const runtime = createEntityRuntime({ eventLog: farm.log, cache: true });
  const queue = createKeyedQueue();
  const changes: Change[] = [];
  const runner = new ActionRunner({
    runtime,
    queue,
    work: {} as JetStreamPublisher,
    canWrite: writes,
    changed: (c) => {
      changes.push(c);
      heard(c);
    },
    followUp: closeAfter,
    logger: pino({ level: 'silent' }),
  });
  return { runtime, runner, changes };
}

/** A started job of `chunks` chunks, cancel requested: it waits for its chunks to settle. */
async function cancelling(runtime: ReturnType<typeof runnerOn>['runtime'], chunks = 1) {
  const id = uid();
  const steps: JobCommand[] = [
    { ...meta(), type: 'SubmitJob', data: jobSpec({ chunks }) },
    { ...meta(), type: 'QueueJob' },
    { ...meta(), type: 'StartJob' },
    { ...meta(), type: 'RequestCancel', data: { reason: 'operator' } },
  ];
  for (const c of steps) expect((await runtime.execute(jobBehaviour, id, c)).ok).toBe(true);
  return id;
}

const settle = (index: number, quiescent: boolean): JobCommand => ({
  ...meta(),
  type: 'RecordChunksSettled',
  data: { chunks: [{ index, state: 'cancelled', quiescent }] },
});
const types = async (id: string) => (await farm.log.read('job', id)).events.map((e) => e.type);

describe('the close follows the last settlement in the same queue turn (real server)', () => {
  it('closes a cancelling job right after its last chunk is told, each append conditional', async () => {
    const { runtime, runner, changes } = runnerOn();
    const id = await cancelling(runtime, 2);
    await runner.exec({ entity: 'job', id, command: settle(0, true) });
    expect((await types(id)).slice(-1)).toEqual(['job.chunks_settled']); // one chunk still open
    const last = settle(1, true);
    await runner.exec({ entity: 'job', id, command: last });
    const { events, lastSeq } = await farm.log.read('job', id);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['job.chunks_settled', 'job.cancelled']);
    const closed = events[events.length - 1]!;
    expect(closed).toMatchObject({ id: `${closeId(id)}#0`, at: last.at, by });
    expect(closed.recorded.seq).toBe(lastSeq);
    // The index and the rules heard of both states, the close last.
    expect(changes.map((c) => c.entity === 'job' && stateName(c.state))).toEqual([
      'cancelling',
      'cancelling',
      'cancelled',
    ]);
    // The rule asks the same close later (its next look): the log keeps one.
    const again = await runtime.execute(jobBehaviour, id, {
      ...meta(),
      id: closeId(id),
      type: 'ConfirmCancelled',
    });
    expect(again.ok && again.events).toEqual([]);
    expect((await types(id)).filter((t) => t === 'job.cancelled')).toHaveLength(1);
  });

  it('waits while a process is unconfirmed, and closes after the quiescence fact', async () => {
    const { runtime, runner } = runnerOn();
    const id = await cancelling(runtime);
    await runner.exec({ entity: 'job', id, command: settle(0, false) });
    expect((await types(id)).slice(-1)).toEqual(['job.chunks_settled']);
    const quiesced: JobCommand = {
      ...meta(),
      type: 'RecordChunksQuiesced',
      data: { indices: [0] },
    };
    await runner.exec({ entity: 'job', id, command: quiesced });
    expect((await types(id)).slice(-2)).toEqual(['job.chunks_quiesced', 'job.cancelled']);
  });

  it('leaves the close owed to a sweep when writing stops between the two', async () => {
    let writing = true;
    // The lease is lost as the settlement lands: the follow-up must not be written.
    const { runtime, runner } = runnerOn(
      () => writing,
      () => (writing = false),
    );
    const id = await cancelling(runtime);
    await runner.exec({ entity: 'job', id, command: settle(0, true) });
    expect((await types(id)).slice(-1)).toEqual(['job.chunks_settled']);
    expect(runner.missed).toBe(true);
  });
});
