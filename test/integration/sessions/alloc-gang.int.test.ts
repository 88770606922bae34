import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient, type SessionRow } from '../../../src/api/index.js';
import type { RecordedEvent } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(100);
  }
}

/**
 * An allocation over several nodes is placed all or nothing (like `salloc -N`): on a farm where
 * only two of the three nodes it asks for are ready, none of its chunks is assigned (nothing is
 * held while it waits, so no other allocation can be starved of those two), and it says how many
 * nodes fit of how many it asks. When the third node's agent comes back, all three are assigned,
 * every one after that node turned ready.
 */
describe('drover alloc --nodes N: all nodes at once or none', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  const session = async (id: string) =>
    (await api.call<{ session: SessionRow }>('session.get', { id })).session;
  const assigned = async (jobId: string, chunks: number) => {
    const out: RecordedEvent[] = [];
    for (let i = 0; i < chunks; i++) {
      const ev = await farm.events('chunk', `${jobId}:${i}`);
      out.push(...ev.filter((e) => e.type === 'chunk.assigned'));
    }
    return out;
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 0 });
    await farm.startAgent('node-1', { cpus: 2 });
    await farm.startAgent('node-2', { cpus: 2 });
    // node-3 is known to the farm (so `--nodes 3` is a fair ask) but its agent is stopped.
    const third = await farm.startAgent('node-3', { cpus: 2 });
    await third.stop('drain');
    farm.agents.splice(farm.agents.indexOf(third), 1);
    api = createApiClient(farm.nc);
  }, 90_000);
  afterAll(async () => {
    await farm?.stop();
  });

  it('holds nothing while 2 of 3 nodes fit, then all three once the third agent joins', async () => {
    await api.call('session.alloc', { id: 'agang1', user: 'ann', nodes: 3, cpus: 2, timeS: 600 });
    const jobId = (await session('agang1')).jobId!;
    const pending = await until('pending with a node count', async () => {
      const v = await api.job(jobId);
      return v.pending?.find((r) => /of 3 nodes fit now/.test(r.message));
    });
    expect(pending.code).toBe('Resources');
    expect(pending.message).toMatch(/^2 of 3 nodes fit now: .*nothing is held until all do/);
    // The round that wrote that note placed nothing of it: not one chunk holds a node.
    expect(await assigned(jobId, 3)).toEqual([]);
    // Another user's small job still fits on the free nodes (the allocation holds nothing).
    const bob = await farm.submit({ name: 'bob', user: 'bob', command: ['true'], cpus: 2 });
    await farm.waitFor(bob, ['succeeded'], 60_000);
    expect(await assigned(jobId, 3)).toEqual([]);

    await farm.startAgent('node-3', { cpus: 2 });
    const readySeq = (await farm.events('node', 'node-3'))
      .filter((e) => e.type === 'node.ready')
      .at(-1)!.recorded.seq;
    const row = await until('held on three nodes', async () => {
      const s = await session('agang1');
      return s.nodes.length === 3 ? s : undefined;
    });
    expect([...row.nodes].sort()).toEqual(['node-1', 'node-2', 'node-3']);
    const all = await assigned(jobId, 3);
    expect(all).toHaveLength(3);
    // Every chunk was assigned after node-3 came back: none held a node while the rest waited.
    for (const e of all) expect(e.recorded.seq).toBeGreaterThan(readySeq);
    await api.call('session.stop', { id: 'agang1' });
  }, 180_000);
});
