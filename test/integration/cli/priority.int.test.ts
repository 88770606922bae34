import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/api/index.js';
import type { SchedulerError } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * `drover priority JOB N --reason` on a real farm: the reply and the audit trail list the jobs
 * it delayed, and the scheduler then starts them in exactly the order that list implies.
 */
describe('priority overrides (real nats-server, scheduler, agent, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  const submit = (user: string, command: string[]) =>
    farm.submit({ name: `${user}-job`, user, command, cpus: 1, memMb: 64 });
  /** Until the API's read model shows `job` waiting with reasons (its chunk is in the queue). */
  const waiting = async (job: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await json<{ pending?: unknown[] }>('explain', job);
      if ((r.doc?.pending?.length ?? 0) > 0) return;
      if (Date.now() > deadline) throw new Error(`${job} never showed as waiting: ${r.stdout}`);
      await sleep(200);
    }
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 1 });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-prio-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('lists the jobs it delays, audits them, and the scheduler starts in that order', async () => {
    const gate = join(dir, 'go');
    const carol = await submit('carol', [
      'sh',
      '-c',
      `while [ ! -f ${gate} ]; do sleep 0.05; done`,
    ]);
    await farm.waitFor(carol, ['running']);
    const a1 = await submit('alice', ['true']);
    const b1 = await submit('bob', ['true']);
    const a2 = await submit('alice', ['true']);
    for (const j of [a1, b1, a2]) await waiting(j);
    // Queue now: a1 (alice, dru 1), b1 (bob, dru 1), a2 (alice, dru 2). With priority 5, a2
    // leads alice's own order: b1 (dru 1, earlier), a2 (dru 1), a1 (dru 2): a1 is delayed.
    expect((await cli('priority', a2, '5')).code).toBe(2); // --reason is required
    const asBob = createApiClient(farm.nc, { as: 'bob' });
    const refused = await asBob.priority(b1, 9, 'mine first').catch((e: unknown) => e);
    expect((refused as SchedulerError).code).toBe('FORBIDDEN');

    const r = await json('priority', a2, '5', '--reason', 'deadline at 9');
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc).toEqual({ jobId: a2, priority: 5, delayed: [a1] });
    const audit = await json<{ type: string; by: { id: string }; data: Record<string, unknown> }[]>(
      'audit',
      a2,
    );
    expect(audit.doc.find((e) => e.type === 'job.priority_changed')).toMatchObject({
      by: { id: 'ada' },
      data: { priority: 5, reason: 'deadline at 9', delayed: [a1] },
    });

    await writeFile(gate, '');
    const [ja1, jb1, ja2] = await Promise.all([a1, b1, a2].map((j) => farm.waitFor(j)));
    expect(jb1!.context.startedAt!).toBeLessThan(ja2!.context.startedAt!);
    expect(ja2!.context.startedAt!).toBeLessThan(ja1!.context.startedAt!);
  }, 90_000);
});
