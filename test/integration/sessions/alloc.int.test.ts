import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient, type SessionRow } from '../../../src/api/index.js';
import { SessionClient } from '../../../src/cli/session-attach.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';

// Runs inside an allocation are sessions: their client's silence is noticed after 3 s here.
process.env.DROVER_SESSION_GRACE_MS = '3000';

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(100);
  }
}

describe('drover alloc: resources held across distinct nodes, runs inside them', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  const session = async (id: string) =>
    (await api.call<{ session: SessionRow }>('session.get', { id })).session;
  const held = (id: string) =>
    until(`allocation ${id} held`, async () => {
      const s = await session(id);
      return s.nodes.length === s.nodeCount ? s : undefined;
    });

  beforeAll(async () => {
    // Unequal nodes: the load-spreading rule alone would put both chunks of a 2-cpu allocation
    // on the big node (2/8 beats 2/2), so only the spread rule puts them on two nodes.
    farm = await startApiFarm({ agents: 0 });
    await farm.startAgent('node-1', { cpus: 8 });
    await farm.startAgent('node-2', { cpus: 2 });
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
  });

  it('holds two distinct nodes and runs on both; released, its job is cancelled', async () => {
    const url = farm.server.url;
    // Long enough that a slow CLI start on a loaded machine never sees it expire.
    const args = ['alloc', '--nodes', '2', '--cpus', '2', '--time', '10m', '--wait', '--json'];
    const alloc = await drover(url, args, { DROVER_USER: 'ann' });
    expect(alloc.stderr).toMatch(/holding node-\d, node-\d until/);
    expect(alloc.code).toBe(0);
    const { allocId } = JSON.parse(alloc.stdout) as { allocId: string };
    const row = await session(allocId);
    expect(row.kind).toBe('alloc');
    expect([...row.nodes].sort()).toEqual(['node-1', 'node-2']);

    const cmd = 'echo "on $DROVER_NODE in $DROVER_ALLOC"; [ "$DROVER_NODE" = node-1 ] || exit 3';
    const run = await drover(url, ['run', '--alloc', allocId, '--', 'sh', '-c', cmd], {
      DROVER_USER: 'ann',
    });
    expect(run.stderr).not.toMatch(/error/);
    expect(run.stdout).toContain(`[node-1] on node-1 in ${allocId}\n`);
    expect(run.stdout).toContain(`[node-2] on node-2 in ${allocId}\n`);
    expect(run.code).toBe(3); // node-2's exit code: the first node that failed
    // Nothing of the runs inside was queued: the allocation's job is still its two chunks.
    expect((await api.job(row.jobId!)).chunks!.length).toBe(2);

    const rel = await drover(url, ['alloc', 'release', allocId, '--json'], { DROVER_USER: 'ann' });
    expect(rel.code).toBe(0);
    expect(JSON.parse(rel.stdout)).toEqual({ allocId, state: 'stopping' });
    const released = await until('released', async () => {
      const s = await session(allocId);
      return s.state === 'exited' ? s : undefined;
    });
    expect(released.stopReason).toMatch(/released by ann/);
    await farm.waitFor(row.jobId!, ['cancelled']);
  }, 120_000);

  it('keeps others waiting while it holds; its time runs out, the run inside is stopped and they start', async () => {
    await api.call('session.alloc', { id: 'aexp1', user: 'ann', nodes: 2, cpus: 2, timeS: 10 });
    const row = await held('aexp1');
    // Another user's job that would fit node-1 but for the 2 cpus the allocation holds.
    const bob = await farm.submit({ name: 'bob', user: 'bob', command: ['true'], cpus: 7 });
    // A run inside the allocation that outlives it: stopped when the time runs out.
    const out = new PassThrough();
    const long = new SessionClient(farm.nc, api, 'sexp1', 'ann', {
      stdin: new PassThrough(),
      stdout: out,
      stderr: new PassThrough(),
    });
    out.resume();
    const opened = await api.call<{ node: string }>('session.open', {
      id: 'sexp1',
      user: 'ann',
      command: ['sleep', '120'],
      alloc: 'aexp1',
      node: 'node-1',
    });
    expect(opened.node).toBe('node-1');
    const waiting = await until('bob pending', async () => {
      const v = await api.job(bob);
      return v.pending?.length ? v : undefined;
    });
    expect(waiting.state).toBe('queued');
    expect(waiting.pending!.map((r) => r.code)).toContain('Resources');

    const end = await long.ended;
    long.close();
    expect(end.exitCode).not.toBe(0);
    const longRow = await session('sexp1');
    expect(longRow.stopReason).toMatch(/allocation aexp1 ended on node-1: its time ran out/);
    await farm.waitFor(bob, ['succeeded'], 30_000);
    expect((await session('aexp1')).state).toBe('exited');
    expect((await api.job(row.jobId!)).state).toBe('succeeded');
  }, 120_000);

  it('cancel of its job ends it too; bad requests name the field', async () => {
    await api.call('session.alloc', { id: 'acan1', user: 'ann', timeS: 600 });
    const c = await held('acan1');
    await api.cancel(c.jobId!, { wait: true });
    await until('ended by cancel', async () =>
      (await session('acan1')).state === 'exited' ? true : undefined,
    );
    // A run in an allocation that ended is refused, saying so.
    await expect(
      api.call('session.open', { id: 'sacan1', user: 'ann', command: ['true'], alloc: 'acan1' }),
    ).rejects.toThrow(/allocation acan1 is exited/);

    await expect(
      api.call('session.alloc', { id: 'abig', user: 'ann', nodes: 3, timeS: 60 }),
    ).rejects.toThrow(/nodes: 3 distinct nodes asked, the farm has 2/);
    const noTime = await drover(farm.server.url, ['alloc', '--nodes', '2']);
    expect(noTime.code).toBe(2);
    expect(noTime.stderr).toContain('--time');
  }, 120_000);
});
