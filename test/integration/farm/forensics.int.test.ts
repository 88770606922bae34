import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntityRuntime, jobBehaviour, stateName } from '../../../src/actors/index.js';
import {
  allProjections,
  createKvProjectionStore,
  createProjectionRunner,
  usage,
  type UsageState,
} from '../../../src/projections/index.js';
import { snapshots } from '../../support/projection-fixture.js';
import { startFarm, type Farm } from '../../support/farm.js';

/**
 * Projections on a real farm: a workload with successes, a failure, an out-of-memory retry and a
 * cancel; then a rebuild from zero equals the live projections, a replay until a middle sequence
 * equals what the live ones held then, and the job killed for memory shows its true peak.
 */
describe('forensics on a real farm', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 30_000);

  it('replay --verify is exact, --until a middle sequence is what the live projections had', async () => {
    const ps = allProjections();
    const store = await createKvProjectionStore(farm.nc, {
      bucket: `p_${randomUUID().slice(0, 8)}`,
    });
    const live = createProjectionRunner({
      log: farm.log,
      projections: ps,
      store,
      checkpointEvery: { events: 100 },
    });
    await live.start();
    live.tail();

    const first = [];
    for (let i = 0; i < 6; i++)
      first.push(
        await farm.submit({
          name: 'tiny',
          user: i % 2 ? 'alice' : 'bob',
          command: ['true'],
          memMb: 32,
        }),
      );
    for (const id of first) await farm.waitFor(id);
    const mid = await farm.log.lastSeq();
    await live.waitFor(mid);
    const atMid = snapshots(live, ps);

    const hog = await farm.submit({
      name: 'hog',
      user: 'carol',
      command: [
        process.execPath,
        '-e',
        'const b=[];for(let i=0;i<16;i++)b.push(Buffer.alloc(8<<20,1));setTimeout(()=>{},1000)',
      ],
      memMb: 90,
      retries: 1,
    });
    const bad = await farm.submit({
      name: 'bad',
      user: 'bob',
      command: ['sh', '-c', 'exit 2'],
      memMb: 32,
    });
    const slow = await farm.submit({
      name: 'slow',
      user: 'alice',
      command: ['sleep', '30'],
      memMb: 32,
    });
    await farm.waitFor(slow, ['running']);
    const admin = { kind: 'admin' as const, id: 'ops' };
    await createEntityRuntime({ eventLog: farm.log }).execute(jobBehaviour, slow, {
      type: 'RequestCancel',
      id: randomUUID(),
      at: Date.now(),
      by: admin,
      data: { reason: 'test' },
    });
    expect(stateName(await farm.waitFor(hog, undefined, 60_000))).toBe('succeeded');
    expect(stateName(await farm.waitFor(bad))).toBe('failed');
    expect(stateName(await farm.waitFor(slow))).toBe('cancelled');
    const end = await farm.log.lastSeq();
    await live.waitFor(end);

    const verdict = await live.verify();
    expect(verdict).toMatchObject({ equal: true, diffs: [] });
    const past = createProjectionRunner({ log: farm.log, projections: ps });
    await past.start({ until: { seq: mid } });
    expect(snapshots(past, ps)).toEqual(atMid);

    const rows = usage(live.state<UsageState>('usage'), { by: 'name' });
    const hogRow = rows.find((r) => r.key === 'hog');
    expect(hogRow?.memPeakMb).toBeGreaterThanOrEqual(90);
    // At least one attempt killed for memory, then one that succeeded with more: how many were
    // killed depends on how far the first grew before its sample (more under CPU load).
    expect(hogRow?.outcomes.OutOfMemory).toBeGreaterThanOrEqual(1);
    expect(hogRow?.outcomes.Succeeded).toBe(1);
    expect(rows.find((r) => r.key === 'bad')?.outcomes).toMatchObject({ ExitNonZero: 1 });
    expect(rows.find((r) => r.key === 'slow')?.outcomes).toMatchObject({ Cancelled: 1 });
    await live.stop();
  }, 120_000);
});
