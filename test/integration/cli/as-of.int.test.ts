import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFold, stateName } from '../../../src/actors/index.js';
import type { Explanation } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/** Issue 21 point 10: "why was this pending at 09:14?" answered from the log, as of then. */
describe('explain --at and --until: the farm as it was', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) =>
    JSON.parse((await cli(...args, '--json')).stdout) as T;

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1 });
    session = cliSession(farm.server.url);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  it('explains a job that has since succeeded as pending on its dependency, then', async () => {
    // The dependency runs until the test lets it go: the job waits on it for as long as needed.
    const gate = join(tmpdir(), `drover-gate-${randomUUID()}`);
    const hold = `while [ ! -e ${gate} ]; do sleep 0.1; done`;
    const dep = (await cli('submit', '--mem', '64M', '--', 'sh', '-c', hold)).stdout.trim();
    const job = (await cli('submit', '--after', dep, '--mem', '64M', '--', 'true')).stdout.trim();
    // Wait for the noted reason itself (the job reads queued a moment before it is noted).
    const waiting = async () => {
      const snap = jobFold.foldEvents((await farm.log.read('job', job)).events);
      const codes = snap.context.pending?.reasons.map((r) => r.code) ?? [];
      return stateName(snap) === 'queued' && codes.includes('Dependency');
    };
    while (!(await waiting())) await sleep(100);
    const then = await farm.log.lastSeq();
    const thenIso = new Date().toISOString();
    await writeFile(gate, '');
    await farm.waitFor(job, ['succeeded'], 30_000);

    const now = await json<Explanation>('explain', job);
    expect(now.state).toBe('succeeded');
    const past = await json<Explanation>('explain', job, '--at', String(then));
    expect(past.state).toBe('queued');
    expect(past.pending?.map((r) => r.code)).toContain('Dependency');
    expect((await cli('explain', job, '--at', thenIso)).stdout).toMatch(/was queued at/);

    const audit = await json<{ type: string; seq: number }[]>(
      'audit',
      job,
      '--until',
      String(then),
    );
    expect(audit.every((e) => e.seq <= then)).toBe(true);
    expect(audit.map((e) => e.type)).not.toContain('job.succeeded');
    expect(await json<unknown[]>('usage', '--until', String(then))).toEqual([]);
    const fair = await json<{ user: string; pending: number }[]>(
      'fairshare',
      '--until',
      String(then),
    );
    expect(fair.find((u) => u.user === 'ada')?.pending).toBeGreaterThan(0);
    expect((await cli('explain', job, '--at', 'yesterday-ish')).code).toBe(2);
  }, 90_000);
});
