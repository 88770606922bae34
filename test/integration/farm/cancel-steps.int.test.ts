import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntityRuntime, jobBehaviour, stateName } from '../../../src/actors/index.js';
import { workerId, type RecordedEvent } from '../../../src/events/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

const first = (events: readonly RecordedEvent[], type: string) =>
  events.find((e) => e.type === type);

/**
 * A cancel of running jobs in fewer of the scheduler's steps (issue 22 point 6): the cascade asks
 * a running chunk's worker to be killed in the same step as it asks the chunk to cancel, not once
 * the chunk's cancel is stored (both come from one look of the rules: one `at`; the chunk's own
 * rule, firing later with the same command id, stores no second request), and the job is closed
 * in the same step as its last chunk's settlement is recorded (the close follows in the job's
 * queue turn: the same `at`). The guarantees stay: a job reads `cancelled` only after every
 * process is confirmed gone.
 */
describe('cancel: kill asked with the chunk cancel, close with the settlement', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2, cpus: 16 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 60_000);

  it('asks and closes in fewer steps, once each, after every process is confirmed stopped', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(
        await farm.submit({
          name: `sleeper-${i}`,
          user: 'alice',
          command: ['sleep', '60'],
          cpus: 0.1,
          memMb: 16,
        }),
      );
    const worker = (id: string) => workerId(id, 0, 1);
    // Every process started (and its start folded by the scheduler: the cascade asks only for
    // workers it knows to be live).
    const deadline = Date.now() + 30_000;
    for (const id of ids) {
      while (!first(await farm.events('worker', worker(id)), 'worker.started')) {
        if (Date.now() > deadline) throw new Error(`${id} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await new Promise((r) => setTimeout(r, 200));

    const admin = createEntityRuntime({ eventLog: farm.log });
    for (const id of ids) {
      const r = await admin.execute(jobBehaviour, id, {
        type: 'RequestCancel',
        id: randomUUID(),
        at: Date.now(),
        by: { kind: 'admin', id: 'ops' },
        data: { reason: 'operator' },
      });
      expect(r.ok).toBe(true);
    }
    for (const id of ids)
      expect(stateName(await farm.waitFor(id, ['cancelled', 'failed'], 60_000))).toBe('cancelled');

    for (const id of ids) {
      const chunk = await farm.events('chunk', `${id}:0`);
      const workerEvents = await farm.events('worker', worker(id));
      const cancel = first(chunk, 'chunk.cancel_requested');
      const asks = workerEvents.filter((e) => e.type === 'worker.kill_requested');
      expect(asks, `${id}: one kill request`).toHaveLength(1);
      // Decided in the same step as the chunk's cancel (old: a step after it was stored).
      expect(asks[0]?.at, `${id}: kill asked with the cancel`).toBe(cancel?.at);
      // Closed in the step that recorded the settlement (old: a step after it was stored).
      const job = await farm.events('job', id);
      const told = first(job, 'job.chunks_settled');
      const closed = first(job, 'job.cancelled');
      expect(job.filter((e) => e.type === 'job.cancelled')).toHaveLength(1);
      expect(closed?.at, `${id}: closed with the settlement`).toBe(told?.at);
      // Confirmed stopped before the job closed: the worker's end precedes the job's close.
      const end = first(workerEvents, 'worker.killed') ?? first(workerEvents, 'worker.exited');
      expect(end, `${id}: the end is recorded`).toBeDefined();
      expect(first(chunk, 'chunk.cancelled')?.data).toMatchObject({ confirmed: true });
      expect(told?.data).toEqual({ chunks: [{ index: 0, state: 'cancelled', quiescent: true }] });
      expect(end!.recorded.seq).toBeLessThan(closed!.recorded.seq);
    }
  }, 120_000);
});
