import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { createApiClient, policyClient } from '../../../src/api/index.js';
import type { SchedulerError } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

type Explain = { pending?: { code: string; message: string; unblock: string }[] };

/**
 * `drover quota` on a real farm: limits are admin-set events, the scheduler never runs a user
 * past them, and a held job says `Quota` with the limit, the use that hit it and what frees it.
 */
describe('quotas and throttles (real nats-server, scheduler, agent, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  /** Chunks of `job` holding resources now (assigned or running), from the log. */
  const live = async (job: string, chunks: number) => {
    let n = 0;
    for (let i = 0; i < chunks; i++) {
      const c = await farm.log.read('chunk', `${job}:${i}`);
      const last = c.events.filter((e) => e.type.startsWith('chunk.')).at(-1)?.type;
      if (last === 'chunk.assigned' || last === 'chunk.started') n++;
    }
    return n;
  };
  /** Poll `explain` until a `Quota` reason shows (pending notes are written once a second). */
  const quotaReason = async (job: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await json<Explain>('explain', job);
      const q = r.doc?.pending?.find((p) => p.code === 'Quota');
      if (q) return q;
      if (Date.now() > deadline) throw new Error(`no Quota reason: ${r.stdout}`);
      await sleep(200);
    }
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4 });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-quota-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('validates, refuses users, and lists limits with what runs', async () => {
    expect((await cli('quota', 'set', 'bob')).code).toBe(2);
    const badMem = await cli('quota', 'set', 'bob', '--mem', 'lots');
    expect(badMem.code).toBe(2);
    expect(badMem.stderr).toMatch(/--mem lots/);
    const none = await cli('quota', 'clear', 'nobody');
    expect(none.code).toBe(3);
    const asBob = policyClient(createApiClient(farm.nc, { as: 'bob' }));
    const refused = await asBob.quotaSet('bob', { cpus: 100 }).catch((e: unknown) => e);
    expect((refused as SchedulerError).code).toBe('FORBIDDEN');
    const set = await json('quota', 'set', 'bob', '--cpus', '1', '--mem', '1G', '--reason', 'fair');
    expect(set.code, set.stderr).toBe(0);
    expect(set.doc).toEqual({ user: 'bob', cpus: 1, memMb: 1024, version: 1, changed: true });
    const list = await json('quota', 'list');
    expect(list.doc).toEqual([
      { user: 'bob', cpus: 1, memMb: 1024, used: { cpus: 0, memMb: 0, gpus: 0 } },
    ]);
    const audit = await json<{ type: string; by: { id: string }; data: { reason?: string } }[]>(
      'audit',
      'quotas',
    );
    expect(audit.doc).toMatchObject([{ type: 'policy.quota_set', by: { id: 'ada' } }]);
  }, 60_000);

  it('never runs a user past the cpu quota; the held job says Quota until it is cleared', async () => {
    const gate = join(dir, 'go');
    const job = await farm.submit({
      name: 'bob-wide',
      user: 'bob',
      command: ['sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.05; done`],
      cpus: 1,
      memMb: 64,
      chunks: 3,
    });
    await farm.waitFor(job, ['running']);
    const reason = await quotaReason(job);
    expect(reason.message).toMatch(/bob's cpus quota is 1 cpus: 1 cpus running \+ 1 cpus asked/);
    expect(reason.unblock).toMatch(/free 1 cpus, or an admin raises the quota/);
    expect(await live(job, 3)).toBe(1); // the node has 4 cpus: only the quota holds them back
    const list = await json<{ used: { cpus: number } }[]>('quota', 'list');
    expect(list.doc[0]!.used.cpus).toBe(1);

    expect((await cli('quota', 'clear', 'bob', '--reason', 'deadline')).code).toBe(0);
    const deadline = Date.now() + 30_000;
    while ((await live(job, 3)) < 3) {
      if (Date.now() > deadline) throw new Error('the chunks did not start after the clear');
      await sleep(100);
    }
    await writeFile(gate, '');
    expect(stateName(await farm.waitFor(job))).toBe('succeeded');
  }, 90_000);

  it('throttles launches per minute', async () => {
    expect((await cli('quota', 'set', 'carol', '--launches-per-min', '1')).code).toBe(0);
    const job = await farm.submit({
      name: 'carol-two',
      user: 'carol',
      command: ['true'],
      cpus: 1,
      memMb: 64,
      chunks: 2,
    });
    const reason = await quotaReason(job);
    expect(reason.message).toMatch(
      /carol launched 1 tasks in the last minute: the throttle allows 1/,
    );
    expect(reason.unblock).toMatch(/the oldest launch leaves the minute at /);
    expect((await cli('quota', 'clear', 'carol')).code).toBe(0);
    expect(stateName(await farm.waitFor(job))).toBe('succeeded');
  }, 90_000);
});
