import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEventLog } from '../../support/nats-client.js';
import { appendAll } from '../../support/projection-fixture.js';
import { farmHistory } from '../../support/projection-history.js';
import { droverArgv } from '../../support/cli-main.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

const farm = useEventLog({ beforeAll, afterAll });

/**
 * The real CLI's one-shot commands, answered by a long-lived CLI process (cli-session.ts) instead
 * of a CLI start each; the exit on an unreachable NATS below is a process of its own.
 */
let session: CliSession;
const drover = (...args: string[]) => session.run(args);

describe('drover usage / audit / fairshare / replay (child process, --json)', () => {
  beforeAll(async () => {
    session = cliSession(farm.server.url, [{}]);
    await appendAll(farm.log, farmHistory(7, { jobs: 6, tag: 'cli' }));
  });
  afterAll(async () => session?.stop());

  it('usage --by user prints the CONTRACT shape', async () => {
    const r = await drover('usage', '--by', 'user', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'key',
          'runs',
          'cpuSeconds',
          'memPeakMb',
          'memMbSeconds',
          'wallSeconds',
          'outcomes',
          'recommendedMemMb',
        ]),
      );
    }
  });

  it('audit of a job prints its events in log order; an unknown id exits 3; bad input exits 2', async () => {
    const r = await drover('audit', 'clij0', '--json');
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout) as {
      seq: number;
      at: number;
      subject: string;
      type: string;
      by: unknown;
      data: unknown;
    }[];
    expect(entries[0]).toMatchObject({ type: 'job.submitted', subject: 'drover.ev.job.clij0' });
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    expect(entries.some((e) => e.subject.startsWith('drover.ev.worker.clij0:0:'))).toBe(true);
    const missing = await drover('audit', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: /m);
    const bad = await drover('usage', '--by', 'colour');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: BAD_INPUT: /m);
  });

  it('fairshare prints one row per user; replay --verify says equal', async () => {
    const f = await drover('fairshare', '--json');
    expect(f.code).toBe(0);
    const rows = JSON.parse(f.stdout) as Record<string, unknown>[];
    expect(rows[0]).toEqual(expect.objectContaining({ rank: 1 }));
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'user',
          'weight',
          'dru',
          'history',
          'running',
          'pending',
          'rank',
          'ahead',
        ]),
      );
    }
    const v = await drover('replay', '--verify', '--json');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ verify: { equal: true, diffs: [] } });
    const u = await drover('replay', '--until', '5', '--json');
    expect(JSON.parse(u.stdout)).toMatchObject({ until: 5, events: 5 });
  });

  it('fairshare and usage tables say what ranks, one unit per word', async () => {
    const f = await drover('fairshare');
    expect(f.code).toBe(0);
    // The policy version in force first (issue 18: parameters as data), then the table.
    const [policy, head] = f.stdout.split('\n');
    expect(policy).toMatch(/^fair-share (policy v\d+|defaults)/);
    expect(head).toMatch(/^rank\s+user\s+weight\s+next dru\s+share now\s+decayed history/);
    expect(f.stdout).toContain('rank: by "next dru"');
    expect(f.stdout).toMatch(/\d+ alloc cpu-s, \d+ alloc MB-s/);
    expect(f.stdout).not.toMatch(/\d cpu-s/);
    const u = await drover('usage', '--by', 'user');
    expect(u.stdout).toMatch(/^user\s+runs\s+cpu-s\s/);
    expect(u.stdout).not.toContain('alloc');
  });

  it('exits 5 when NATS is unreachable', async () => {
    const child = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, droverArgv(['fairshare']), {
        env: { ...process.env, DROVER_NATS_URL: 'nats://127.0.0.1:1' },
      });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.once('exit', (code) => resolve({ code: code ?? -1, stderr }));
    });
    expect(child.code).toBe(5);
    expect(child.stderr).toMatch(/^error: UNAVAILABLE: /m);
  });
});
