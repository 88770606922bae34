import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { isCorrupt } from '../../../src/events/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

/**
 * 200 tiny jobs from three users with weights 2:1:1 on a farm with room for four at a time: all
 * complete, and while everyone has work waiting the placements follow the fair-share rule, as the
 * decision events on `chunk.assigned` show.
 */
describe('fair share end to end', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, cpus: 2, weights: { alice: 2, bob: 1, carol: 1 } });
  }, 30_000);
  afterAll(async () => farm?.stop(), 30_000);

  it('completes every job and shares the farm 2:1:1 while all three wait', async () => {
    const users = [...Array(100).fill('alice'), ...Array(50).fill('bob'), ...Array(50).fill('carol')];
    const ids = await Promise.all(
      users.map((user, i) => farm.submit({ name: `tiny-${i}`, user, command: ['sleep', '0.05'], cpus: 1, memMb: 16 })),
    );
    const userOf = new Map(ids.map((id, i) => [id, users[i]!]));
    // Everything is queued before any node exists, so the order is the policy's, not arrival's.
    for (const id of ids) await farm.waitFor(id, ['queued']);
    await farm.startAgent('node-1');
    await farm.startAgent('node-2');
    for (const id of ids) expect(stateName(await farm.waitFor(id, undefined, 120_000))).toBe('succeeded');

    const placements: { user: string; dru: number; rank: number }[] = [];
    for await (const item of farm.log.replay({ entity: 'chunk' })) {
      if (isCorrupt(item) || item.type !== 'chunk.assigned') continue;
      const jobId = item.recorded.subject.split('.')[3]!.split(':')[0]!;
      expect(item.data.decision).toBeDefined();
      placements.push({ user: userOf.get(jobId)!, ...item.data.decision! });
    }
    expect(placements).toHaveLength(200);
    // While all three users have jobs waiting (bob and carol have 50 each, so the first 100
    // placements are safely inside that window), alice gets about half, bob and carol a quarter.
    const first = placements.slice(0, 100);
    const share = (u: string) => first.filter((p) => p.user === u).length / first.length;
    expect(share('alice')).toBeGreaterThan(0.42);
    expect(share('alice')).toBeLessThan(0.58);
    expect(share('bob')).toBeGreaterThan(0.18);
    expect(share('carol')).toBeGreaterThan(0.18);
    // Nobody is starved: each user's placements are spread over the window, not bunched at the end.
    for (const u of ['alice', 'bob', 'carol']) expect(first.slice(0, 20).some((p) => p.user === u)).toBe(true);
  }, 180_000);
});
