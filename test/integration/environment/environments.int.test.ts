import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { scratchRepo, type ScratchRepo } from '../../support/git-repo.js';

/**
 * Environments you can go back to (issue 20), on a real farm: a real git repository as the
 * job's cwd, the agent capturing its commit and lockfile hash, then `show`, `audit`,
 * `resubmit [--same-environment]` and `diff` through the compiled CLI, and a pinned copy the
 * agent itself refuses once the repository moved on.
 */
describe('environments you can go back to (real farm, real git repository)', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  let scratch: ScratchRepo | undefined;
  let repo: string;
  /** The real CLI's one-shot commands in the repository, answered by a long-lived CLI process. */
  let session: CliSession;
  const git = (...args: string[]) => scratch!.git(...args);
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' }, 60_000, repo);
  const runJob = async () => {
    const { jobId } = await api.submit({
      name: 'env',
      user: 'ada',
      command: ['true'],
      cwd: repo,
      retries: 2,
    });
    await farm.waitFor(jobId);
    return jobId;
  };

  beforeAll(async () => {
    scratch = scratchRepo('drover-env-repo-');
    repo = scratch.dir;
    await writeFile(join(repo, 'package-lock.json'), '{"lockfileVersion":3}\n');
    await writeFile(join(repo, 'requirements.txt'), 'numpy==1.26.0\n');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    farm = await startApiFarm({ agents: 1 });
    session = cliSession(farm.server.url);
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    scratch?.remove();
  });

  it('records, shows, audits, refuses a changed pin, resubmits and diffs', async () => {
    const first = git('rev-parse', 'HEAD');
    const job1 = await runJob();
    expect((await farm.job(job1)).value).toBe('succeeded');

    const shown = await cli('show', job1, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const env1 = (JSON.parse(shown.stdout) as { environment: Record<string, unknown> }).environment;
    expect(env1).toMatchObject({ cwd: repo, gitCommit: first, dirty: false });
    expect(env1.lockfileHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(env1.lockfiles as object).sort()).toEqual([
      'package-lock.json',
      'requirements.txt',
    ]);

    const audit = await cli('audit', job1);
    expect(audit.code, audit.stderr).toBe(0);
    const startedLine = audit.stdout.split('\n').find((l) => l.includes('worker.started'));
    expect(startedLine).toContain(`git=${first.slice(0, 12)}`);
    expect(startedLine).toContain(`lockfiles=${(env1.lockfileHash as string).slice(0, 12)}`);

    // The repository moves on: a new lockfile, committed.
    await writeFile(join(repo, 'requirements.txt'), 'numpy==2.0.0\n');
    git('commit', '-q', '-am', 'bump numpy');
    const second = git('rev-parse', 'HEAD');

    const refused = await cli('resubmit', job1, '--same-environment');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      `gitCommit was ${first.slice(0, 12)}, now ${second.slice(0, 12)}`,
    );
    expect(refused.stderr).toMatch(
      /lockfileHash was [0-9a-f]{12}, now [0-9a-f]{12} \(requirements\.txt changed\)/,
    );

    const plain = await cli('resubmit', job1, '--json');
    expect(plain.code, plain.stderr).toBe(0);
    const copy = (JSON.parse(plain.stdout) as { jobId: string; resubmitOf: string }).jobId;
    expect((await farm.waitFor(copy)).value).toBe('succeeded');
    expect((await api.job(copy)).environment?.gitCommit).toBe(second);

    const diff = await cli('diff', job1, copy);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain(
      `environment.gitCommit: ${first} (${job1}) -> ${second} (${copy})`,
    );
    expect(diff.stdout).toMatch(/environment\.lockfileHash: [0-9a-f]{64} \S+ -> [0-9a-f]{64} /);
    expect(diff.stdout).toContain('requirements.txt');

    // A pinned copy the CLI's up-front check never sees (straight through the API): the agent
    // checks before it starts the process, refuses, and the job ends without spending a retry
    // (the job has retries: 2, yet one attempt).
    const { jobId: pinned } = await api.resubmit(job1, { sameEnvironment: true, user: 'ada' });
    expect((await farm.waitFor(pinned)).value).toBe('failed');
    const view = await api.job(pinned, { chunks: true });
    expect(view.outcome?.cause).toBe('EnvironmentChanged');
    expect(view.chunks[0]?.attempts.map((a) => a.cause)).toEqual(['EnvironmentChanged']);
    expect(view.chunks[0]?.attempts).toHaveLength(1);
  }, 120_000);
});
