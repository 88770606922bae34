import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allProjections,
  createKvProjectionStore,
  createProjectionRunner,
  usageProjection,
  type Projection,
  type ProjectionStore,
} from '../../../src/projections/index.js';
import { useEventLog } from '../../support/nats-client.js';
import { appendAll, publishRaw, snapshots } from '../../support/projection-fixture.js';
import { farmHistory } from '../../support/projection-history.js';

const farm = useEventLog({ beforeAll, afterAll });
const ps = allProjections();
let seed = 1;
const history = (jobs: number) =>
  farmHistory(seed++, { jobs, tag: `t${randomUUID().slice(0, 6)}` });

async function store(maxPartBytes?: number): Promise<ProjectionStore> {
  const bucket = `p_${randomUUID().slice(0, 8)}`;
  return createKvProjectionStore(farm.nc, maxPartBytes ? { bucket, maxPartBytes } : { bucket });
}

async function fresh(projections: Projection<unknown>[] = ps) {
  const r = createProjectionRunner({ log: farm.log, projections });
  await r.start({ fromZero: true });
  return r;
}

describe('projection runner on a real nats-server', () => {
  it('replays, tails live, checkpoints in KV; a restart from the checkpoint equals a fresh rebuild', async () => {
    await appendAll(farm.log, history(8));
    const kv = await store(4096); // small parts: checkpoints are split across keys
    const live = createProjectionRunner({
      log: farm.log,
      projections: ps,
      store: kv,
      checkpointEvery: { events: 50 },
    });
    await live.start();
    live.tail();
    const seqs = await appendAll(farm.log, history(6));
    await live.waitFor(seqs.at(-1)!);
    await live.checkpoint();
    const before = snapshots(live, ps);
    await live.stop();

    const restarted = createProjectionRunner({ log: farm.log, projections: ps, store: kv });
    await restarted.start();
    expect([...restarted.restored].sort()).toEqual(ps.map((p) => `${p.name}-v${p.version}`).sort());
    expect(restarted.events).toBe(0);
    const rebuilt = await fresh();
    expect(snapshots(restarted, ps)).toEqual(snapshots(rebuilt, ps));
    expect(before).toEqual(snapshots(rebuilt, ps));
  });

  it('--until a middle sequence equals the state the live runner had at that sequence', async () => {
    const live = createProjectionRunner({ log: farm.log, projections: ps });
    await live.start();
    live.tail();
    const entries = history(4);
    const half = Math.floor(entries.length / 2);
    const first = await appendAll(farm.log, entries.slice(0, half));
    const mid = first.at(-1)!;
    await live.waitFor(mid);
    const atMid = snapshots(live, ps);
    await appendAll(farm.log, entries.slice(half));
    await live.stop();
    const past = createProjectionRunner({ log: farm.log, projections: ps });
    await past.start({ until: { seq: mid } });
    expect(past.seq).toBe(mid);
    expect(snapshots(past, ps)).toEqual(atMid);
  });

  it('a changed version ignores the old checkpoint and rebuilds from zero', async () => {
    await appendAll(farm.log, history(2));
    const kv = await store();
    const v1 = createProjectionRunner({
      log: farm.log,
      projections: [usageProjection as Projection<unknown>],
      store: kv,
    });
    await v1.start();
    await v1.checkpoint();
    const v2p = { ...usageProjection, version: usageProjection.version + 1 } as Projection<unknown>;
    const v2 = createProjectionRunner({ log: farm.log, projections: [v2p], store: kv });
    await v2.start();
    expect(v2.restored).toEqual([]);
    expect(v2.events).toBeGreaterThan(0);
    expect(snapshots(v2, [v2p])).toEqual(snapshots(v1, [v2p]));
  });

  it('verify reports equal, and detects a difference injected into a checkpoint', async () => {
    await appendAll(farm.log, history(3));
    const kv = await store();
    const r = createProjectionRunner({ log: farm.log, projections: ps, store: kv });
    await r.start();
    expect(await r.verify()).toMatchObject({ equal: true, diffs: [] });
    await r.checkpoint();
    const key = `usage-v${usageProjection.version}`;
    const cp = (await kv.load(key))!;
    const state = structuredClone(cp.state) as { totals: [string, unknown[]][] };
    state.totals[0]![1][0] = 999_999;
    await kv.save(key, { ...cp, state: state as never });
    const tampered = createProjectionRunner({ log: farm.log, projections: ps, store: kv });
    await tampered.start();
    const v = await tampered.verify();
    expect(v.equal).toBe(false);
    expect(v.diffs[0]).toMatchObject({ projection: 'usage', live: 999_999 });
  });

  it('skips and counts corrupt messages without crashing, replaying and tailing', async () => {
    const r = createProjectionRunner({ log: farm.log, projections: ps });
    await publishRaw(
      farm.nc,
      `drover.ev.job.bad${randomUUID().slice(0, 6)}`,
      Uint8Array.of(0xc1, 1, 2),
    );
    await r.start();
    expect(r.corrupt).toBe(1);
    r.tail();
    await publishRaw(farm.nc, 'drover.ev.job.bad2', new TextEncoder().encode('not msgpack {'));
    const seqs = await appendAll(farm.log, history(1));
    await r.waitFor(seqs.at(-1)!);
    expect(r.corrupt).toBe(2);
    await r.stop();
    const v = await (await fresh()).verify();
    expect(v.equal).toBe(true);
  });
});
