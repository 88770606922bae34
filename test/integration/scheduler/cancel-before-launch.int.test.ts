import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntityRuntime, jobBehaviour, stateName } from '../../../src/actors/index.js';
import { startScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { startFarm, type Farm } from '../../support/farm.js';
import { losingFirstAck } from '../../support/losing-ack.js';

/**
 * A chunk cancelled before its launch went out: the chaos run (issue 23) left jobs `cancelling`
 * for ever when a launch's publish failed while a nats-server was down and the cancel came
 * before the retry. No agent held the attempt, so nobody confirmed the cancel; the launcher
 * retried launches of `assigned` chunks only.
 */
describe('a chunk cancelled before its launch was published', () => {
  let farm: Farm;
  let scheduler: Scheduler | undefined;

  beforeAll(async () => {
    farm = await startFarm({ agents: 1, scheduler: false });
  }, 30_000);
  afterAll(async () => {
    await scheduler?.stop();
    await farm?.stop();
  }, 30_000);

  it('is still confirmed cancelled, by its agent, with no process run', async () => {
    let release: () => void = () => {};
    const hold = new Promise<void>((r) => (release = r));
    // The assignment lands, its ack is "lost" (so no launch is published) and the failure is
    // held while the job is cancelled: the chunk's cancel queues behind the failing assign.
    const { log, landed } = losingFirstAck(farm.log, 'chunk.assigned', hold);
    scheduler = await startScheduler({
      nc: farm.nc,
      eventLog: log,
      logger: pino({ level: 'silent' }),
      holder: 'cancel-before-launch',
      leaseTtlMs: 1500,
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const id = await farm.submit({ name: 'cbl', user: 'ann', command: ['sleep', '60'], memMb: 16 });
    await landed;
    const runtime = createEntityRuntime({ eventLog: farm.log });
    const cancel = await runtime.execute(jobBehaviour, id, {
      type: 'RequestCancel',
      id: randomUUID(),
      at: Date.now(),
      by: { kind: 'admin', id: 'ops' },
      data: { reason: 'cancelled before its launch went out' },
    } as never);
    expect(cancel.ok).toBe(true);
    // Give the scheduler's tail and rules the cancel (its cascade then waits on the assign).
    await new Promise((r) => setTimeout(r, 1_000));
    release();

    const job = await farm.waitFor(id, ['cancelled'], 20_000);
    expect(stateName(job)).toBe('cancelled');
    const chunk = (await farm.events('chunk', `${id}:0`)).map((e) => e.type);
    expect(chunk).toContain('chunk.cancel_requested');
    expect(chunk.at(-1)).toBe('chunk.cancelled');
    // The agent closed the attempt as ended before it started: no process ever ran.
    const worker = (await farm.events('worker', `${id}:0:1`)).map((e) => e.type);
    expect(worker).toContain('worker.launching');
    expect(worker).not.toContain('worker.started');
  }, 40_000);
});
