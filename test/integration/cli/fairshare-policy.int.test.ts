import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { createApiClient, policyClient } from '../../../src/api/index.js';
import { SchedulerError } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * `drover fairshare weight|config` on a real farm: the parameters are events in the log with
 * who and why, `fairshare` says which version it ranked with, and the scheduler places by the
 * same version (a weight set while everything waits changes who starts first).
 */
describe('fair-share parameters as data (real nats-server, scheduler, agent, CLI session)', () => {
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

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 1 });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-fs-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('sets weight, half-life and lambda as versions; refuses bad input and users', async () => {
    const before = await json<{ version: number; halfLifeS: number; lambda: number }>(
      'fairshare',
      'config',
    );
    expect(before.code, before.stderr).toBe(0);
    expect(before.doc).toMatchObject({ version: 0, halfLifeS: 86_400, lambda: 1 });

    const w = await json('fairshare', 'weight', 'alice', '3', '--reason', 'deadline');
    expect(w.code, w.stderr).toBe(0);
    expect(w.doc).toEqual({ user: 'alice', weight: 3, version: 1, changed: true });
    const c = await json('fairshare', 'config', '--half-life', '12h', '--lambda', '0.5');
    expect(c.doc).toMatchObject({ version: 2, halfLifeS: 43_200, lambda: 0.5, changed: true });
    const same = await json('fairshare', 'weight', 'alice', '3');
    expect(same.doc).toEqual({ user: 'alice', weight: 3, version: 2, changed: false });

    const bad = await cli('fairshare', 'weight', 'alice', '-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/weight/);
    const badHalf = await cli('fairshare', 'config', '--half-life', 'soon');
    expect(badHalf.code).toBe(2);
    expect(badHalf.stderr).toMatch(/--half-life soon/);

    // A user's own surface is refused (roles: admins only), and nothing is appended.
    const bob = policyClient(createApiClient(farm.nc, { as: 'bob' }));
    const refused = await bob.weight('bob', 100).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchedulerError);
    expect((refused as SchedulerError).code).toBe('FORBIDDEN');
    expect((refused as SchedulerError).message).toMatch(/admins/);
    const asUser = await bob.config({ lambda: 0 }).catch((e: unknown) => e);
    expect((asUser as SchedulerError).code).toBe('FORBIDDEN');

    const audit = await json<{ type: string; by: { id: string }; data: { reason?: string } }[]>(
      'audit',
      'fairshare',
    );
    expect(audit.doc.map((e) => e.type)).toEqual([
      'policy.weight_set',
      'policy.fairshare_configured',
    ]);
    expect(audit.doc[0]).toMatchObject({ by: { id: 'ada' }, data: { reason: 'deadline' } });
  }, 60_000);

  it('the scheduler places by the version in the log; fairshare says which version it used', async () => {
    const gate = join(dir, 'go');
    // carol holds the only cpu until the gate opens; bob then alice wait behind her.
    const carol = await submit('carol', [
      'sh',
      '-c',
      `while [ ! -f ${gate} ]; do sleep 0.05; done`,
    ]);
    await farm.waitFor(carol, ['running']);
    const bobJob = await submit('bob', ['true']);
    const aliceJob = await submit('alice', ['true']);
    // Equal weights would start bob first (earlier submission); alice's weight (set above, 3)
    // and now 10 put her ahead: dru 1/(10*1) < 1/(1*1).
    expect((await json('fairshare', 'weight', 'alice', '10')).doc).toMatchObject({ version: 3 });
    await writeFile(gate, '');
    const [alice, bob] = await Promise.all([farm.waitFor(aliceJob), farm.waitFor(bobJob)]);
    expect(stateName(alice)).toBe('succeeded');
    expect(alice.context.startedAt!).toBeLessThan(bob.context.startedAt!);

    const rows = await json<{ user: string; weight: number; policyVersion: number }[]>('fairshare');
    expect(rows.code, rows.stderr).toBe(0);
    expect(rows.doc.find((r) => r.user === 'alice')).toMatchObject({
      weight: 10,
      policyVersion: 3,
    });
    expect(rows.doc.every((r) => r.policyVersion === 3)).toBe(true);
    const table = await cli('fairshare');
    expect(table.stdout).toMatch(
      /fair-share policy v3: half-life 12h, lambda 0.5, weights alice=10/,
    );
  }, 90_000);
});
