import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { isCorrupt } from '../../../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * kill -9 of the leading scheduler mid-run: the standby takes the lease with a higher epoch and
 * finishes the work; every accepted job completes, no chunk has two successful attempts, and no
 * event written after the takeover carries the old epoch.
 */
describe('scheduler failover', () => {
  let farm: Farm;
  const schedulers: DroverProcess[] = [];
  beforeAll(async () => {
    farm = await startFarm({ agents: 2, cpus: 4, scheduler: false });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await farm?.stop();
  }, 60_000);

  it('a standby takes over after kill -9 of the leader and every job completes once', async () => {
    const env = (id: string) => ({
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: farm.dataDir,
      DROVER_SCHEDULER_ID: id,
      DROVER_LEASE_TTL_MS: '1500',
      DROVER_RETRY_BACKOFF_MS: '100',
    });
    const first = spawnDrover(['scheduler', '--json'], env('first'));
    schedulers.push(first);
    for (let i = 0; i < 100 && !first.output().includes('"epoch"'); i++) await sleep(100);
    expect(first.output()).toContain('"epoch":');
    const second = spawnDrover(['scheduler', '--json'], env('second'));
    schedulers.push(second);

    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(await farm.submit({ name: `step-${i}`, user: i % 2 ? 'alice' : 'bob', command: ['sleep', '0.2'], chunks: 2, cpus: 0.5, memMb: 16 }));
      if (i === 20) await sleep(300);
    }
    // Mid-run: some jobs done, some running, some still in the intake.
    await farm.waitFor(ids[5]!, ['succeeded'], 30_000);
    await first.kill9();
    for (let i = 60; i < 80; i++) ids.push(await farm.submit({ name: `late-${i}`, user: 'carol', command: ['true'], memMb: 16 }));

    for (const id of ids) expect(stateName(await farm.waitFor(id, undefined, 60_000))).toBe('succeeded');
    expect(second.output()).toMatch(/"epoch":\s*2/);

    const successes = new Map<string, number>();
    let newEpochSeen = false;
    const stale: number[] = [];
    for await (const item of farm.log.replay()) {
      if (isCorrupt(item)) continue;
      if (item.type === 'chunk.succeeded') successes.set(item.recorded.subject, (successes.get(item.recorded.subject) ?? 0) + 1);
      const epoch = item.by.kind === 'scheduler' ? item.by.epoch : undefined;
      if (epoch === 2) newEpochSeen = true;
      if (newEpochSeen && epoch !== undefined && epoch < 2) stale.push(item.recorded.seq);
    }
    expect(newEpochSeen).toBe(true);
    expect(stale).toEqual([]);
    expect(successes.size).toBe(80 + 60); // 60 jobs × 2 chunks + 20 × 1
    expect([...successes.values()].every((n) => n === 1)).toBe(true);
  }, 180_000);
});
