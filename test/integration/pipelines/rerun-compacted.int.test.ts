import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactLog } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

interface RunDoc {
  run: string;
  state: string;
  tasks: { task: string; jobId: string | null; state: string }[];
}

/*
 * Issue 23: `drover rerun` of a run whose job tree `drover compact` moved to the archive, on a
 * real farm (scheduler with its timekeeper, one agent, the API; the CLI as a child process).
 * The moved jobs are closed history: a rerun runs tasks again without clearing them, and is
 * refused while a task it leaves alone ran in a moved job (the scheduler reads the live log).
 */
describe('rerun of a compacted run (real farm)', () => {
  let farm: ApiFarm;
  let dir: string;
  // The real CLI's one-shot commands, answered by a long-lived CLI process (cli-session.ts): the
  // polls of `drover runs` below would otherwise start a CLI process each.
  let session: CliSession;
  const cli = (...args: string[]) =>
    session.run([...args, '--json'], { DROVER_USER: 'ada' }, 60_000, dir);
  const runOf = async (run: string) => {
    const r = await cli('runs', 'pipe');
    return (JSON.parse(r.stdout) as RunDoc[]).find((x) => x.run === run);
  };
  const waitRun = async (run: string, ok: (d: RunDoc) => boolean) => {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const doc = await runOf(run);
      if (doc && ok(doc)) return doc;
      if (Date.now() > deadline) throw new Error(`${run}: ${JSON.stringify(doc)}`);
      await sleep(300);
    }
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4 });
    dir = await mkdtemp(join(tmpdir(), 'drover-rerun-compacted-'));
    session = cliSession(farm.server.url);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('lists the moved jobs, refuses a partial rerun saying why, and runs every task again', async () => {
    const file = join(dir, 'pipe.yaml');
    await writeFile(
      file,
      [
        'name: pipe',
        'tasks:',
        '  - { id: a, command: ["true"] }',
        '  - { id: b, after: [a], command: ["true"] }',
      ].join('\n'),
    );
    expect((await cli('workflow', 'apply', file)).code).toBe(0);
    expect((await cli('workflow', 'trigger', 'pipe', '--date', '2016-03-24')).code).toBe(0);
    const run = 'pipe@2016-03-24';
    const first = await waitRun(run, (d) => d.state === 'succeeded');
    const old = first.tasks.map((t) => t.jobId as string);

    const report = await compactLog(farm.nc, { olderThanMs: 0, now: Date.now() });
    expect(report.jobs).toBeGreaterThanOrEqual(3);
    for (const id of old) expect(await farm.log.lastSeqOf('job', id)).toBe(0);
    const lastSeq = await farm.log.lastSeq();

    // Only b: a ran in a moved job, which the scheduler cannot read its outcome from.
    const partial = await cli('rerun', run, '--task', 'b', '--dry-run');
    expect(partial.code).toBe(0);
    const listing = JSON.parse(partial.stdout) as { blockers: string[] };
    expect(listing.blockers).toEqual([
      expect.stringMatching(/^tasks a of run pipe@2016-03-24 ran in jobs compacted to the archive/),
    ]);
    const refused = await cli('rerun', run, '--task', 'b', '--yes');
    expect(refused.code).toBe(4);
    expect(await farm.log.lastSeq()).toBe(lastSeq);

    // Every task: runs again, the moved jobs left as they are (nothing appended to them).
    const all = await cli('rerun', run, '--yes');
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    const again = await waitRun(
      run,
      (d) => d.state === 'succeeded' && d.tasks.every((t) => !old.includes(t.jobId as string)),
    );
    expect(again.tasks.map((t) => [t.task, t.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ]);
    for (const id of old) expect(await farm.log.lastSeqOf('job', id)).toBe(0);
  }, 120_000);
});
