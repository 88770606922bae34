import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation, JobView } from '../../../src/api/index.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * Issue 21 points 2, 3, 4 and 6 (`--env`): what a new user typed, through the compiled CLI (a
 * session, test/support/cli-session.ts: each command in the cwd and environment it was typed in).
 */
describe('the first hour: submit as a new user types it', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let here: string;
  const ADA = { DROVER_USER: 'ada' };
  const cli = (args: string[], cwd?: string) => session.run(args, ADA, 60_000, cwd);

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1 });
    session = cliSession(farm.server.url, [ADA]);
    here = await mkdtemp(join(tmpdir(), 'drover-here-'));
    await writeFile(join(here, 'simulate.sh'), '#!/bin/sh\necho "simulated in $(pwd)"\n');
    await chmod(join(here, 'simulate.sh'), 0o755);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    await rm(here, { recursive: true, force: true });
  }, 60_000);

  it('runs ./simulate.sh in the directory submit ran in, and records that cwd', async () => {
    const r = await cli(['submit', '--wait', '--mem', '64M', '--', './simulate.sh'], here);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const logs = await cli(['logs', id]);
    expect(logs.stdout).toContain(`simulated in ${here}`);
    const shown = await cli(['show', id, '--json']);
    expect((JSON.parse(shown.stdout) as JobView & { cwd?: string }).cwd).toBe(here);
  }, 60_000);

  it('a cwd missing on the node fails the attempt with the cause and advice naming --cwd', async () => {
    const args = ['submit', '--wait', '--retries', '0', '--mem', '64M', '--cwd', '/nonexistent/x'];
    const r = await cli([...args, '--', 'true']);
    const id = r.stdout.trim();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${id} failed: see \`drover explain ${id}\``);
    const x = JSON.parse((await cli(['explain', id, '--json'])).stdout) as Explanation;
    expect(x.failure?.cause).toBe('LaunchFailed');
    expect(x.recommendations.join(' ')).toMatch(
      /working directory \/nonexistent\/x does not exist on node-1: .*--cwd DIR/,
    );
  }, 60_000);

  it('submit --after a job that does not exist: exit 2 naming the field, no job', async () => {
    const r = await cli(['submit', '--after', 'j999', '--wait', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: BAD_INPUT: after: job j999 does not exist/);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('submit --wait exits with the job’s own exit code (one chunk)', async () => {
    const r = await cli(['submit', '--wait', '--mem', '64M', '--', 'sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
    const id = r.stdout.trim();
    expect(r.stderr).toContain(`see \`drover explain ${id}\``);
  }, 60_000);

  it('drover --version prints the package version', async () => {
    const r = await drover(farm.server.url, ['--version'], ADA); // the program's own flag
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((await import('../../../package.json')).default.version);
  }, 60_000);

  it('a malformed --env names --env', async () => {
    const r = await cli(['submit', '--env', 'FOO', '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--env FOO: expected key=value');
  }, 60_000);

  it("show has the time limit, results and each attempt's own state", async () => {
    const report = `echo '{"result":{"pnl":12}}' >> "$DROVER_REPORT"`;
    const r = await cli([
      'submit',
      '--wait',
      '--timeout',
      '90s',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      report,
    ]);
    const shown = (await cli(['show', r.stdout.trim()])).stdout;
    expect(shown).toContain('time limit 90s');
    expect(shown).toContain('result of chunk 0: {"pnl":12}');
    expect(shown).toMatch(/chunk\s+chunk state\s+attempt\s+state/);
    expect(shown).toMatch(/\n0\s+succeeded\s+1\s+exited\s+node-1/);
  }, 60_000);

  it('explain of a job failed by its dependency does not say "on , attempt 0"', async () => {
    const dep = await cli([
      'submit',
      '--retries',
      '0',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      'sleep 1; exit 1',
    ]);
    const job = await cli(['submit', '--wait', '--after', dep.stdout.trim(), '--', 'true']);
    const text = (await cli(['explain', job.stdout.trim()])).stdout;
    expect(text).toContain('failed: DependencyFailed');
    expect(text).not.toContain('on , attempt 0');
  }, 60_000);

  it('jobs with nothing unfinished says how many finished and that --all shows them', async () => {
    const r = await cli(['jobs', '--user', 'ada']);
    expect(r.stdout.trim()).toMatch(/^No unfinished jobs \(\d+ finished; --all shows them\)$/);
  }, 60_000);
});
