import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import {
  countGitCalls,
  scratchRepo,
  type GitCounter,
  type ScratchRepo,
} from '../../support/git-repo.js';

/**
 * Launch cost (issue 20): on a real farm, a second launch in an unchanged repository starts no
 * git process (a counting `git` first on the agent's PATH tells), and a commit between launches
 * is seen by the next one.
 */
describe('the agent caches environments per cwd (real farm, real git)', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  let repo: ScratchRepo;
  let counter: GitCounter;
  const gitCallsInRepo = () => counter.calls().filter((l) => l.startsWith(`${repo.dir}:`));
  const run = async () => {
    const { jobId } = await api.submit({
      name: 'c',
      user: 'ada',
      command: ['true'],
      cwd: repo.dir,
    });
    expect((await farm.waitFor(jobId)).value).toBe('succeeded');
    return (await api.job(jobId)).environment;
  };

  beforeAll(async () => {
    repo = scratchRepo('drover-envcache-repo-');
    writeFileSync(join(repo.dir, 'requirements.txt'), 'numpy==1.26.0\n');
    repo.git('add', '.');
    repo.git('commit', '-q', '-m', 'first');
    counter = countGitCalls();
    farm = await startApiFarm({ agents: 1 });
    api = createApiClient(farm.nc);
  }, 60_000);
  afterAll(async () => {
    await farm?.stop();
    counter?.restore();
    repo?.remove();
  });

  it('a second launch starts no git; a commit in between is seen', async () => {
    const first = repo.git('rev-parse', 'HEAD');
    expect(await run()).toMatchObject({ gitCommit: first, dirty: false });
    const afterFirst = gitCallsInRepo().length;
    expect(afterFirst).toBeGreaterThan(0);

    expect(await run()).toMatchObject({ gitCommit: first, dirty: false });
    expect(gitCallsInRepo()).toHaveLength(afterFirst);

    writeFileSync(join(repo.dir, 'requirements.txt'), 'numpy==2.0.0\n');
    repo.git('commit', '-q', '-am', 'bump');
    const second = repo.git('rev-parse', 'HEAD');
    expect(await run()).toMatchObject({ gitCommit: second, dirty: false });
    expect(gitCallsInRepo().length).toBeGreaterThan(afterFirst);
  }, 120_000);
});
