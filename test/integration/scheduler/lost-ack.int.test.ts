import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { startScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { startFarm, type Farm } from '../../support/farm.js';
import { losingFirstAck } from '../../support/losing-ack.js';

describe('a scheduler append that landed but whose ack was lost', () => {
  let farm: Farm;
  let scheduler: Scheduler | undefined;

  beforeAll(async () => {
    farm = await startFarm({ agents: 1, scheduler: false });
  }, 30_000);
  afterAll(async () => {
    await scheduler?.stop();
    await farm?.stop();
  }, 30_000);

  it('chunk.assigned: the chunk is still launched and its job runs to success', async () => {
    const { log, lost } = losingFirstAck(farm.log, 'chunk.assigned');
    scheduler = await startScheduler({
      nc: farm.nc,
      eventLog: log,
      logger: pino({ level: 'silent' }),
      holder: 'lost-ack',
      leaseTtlMs: 1500,
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const id = await farm.submit({ name: 'lost-ack', user: 'ann', command: ['true'], memMb: 16 });
    const seq = await lost;
    const assigned = (await farm.events('chunk', `${id}:0`)).find(
      (e) => e.type === 'chunk.assigned',
    );
    expect(assigned?.recorded.seq).toBe(seq); // the landed append was this job's placement
    // Before the fix the job stayed `queued` and its chunk `assigned` with no worker, for good:
    // the launch went out only after an acknowledged append, and only a takeover relaunched.
    const job = await farm.waitFor(id, undefined, 15_000);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:0`);
    expect(chunk.filter((e) => e.type === 'chunk.assigned')).toHaveLength(1);
    expect((await farm.events('worker', `${id}:0:1`)).map((e) => e.type)).toContain(
      'worker.started',
    );
  }, 30_000);
});
