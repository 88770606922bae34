import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient, type JobView } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { scratchRepo, type ScratchRepo } from '../../support/git-repo.js';

/**
 * What changed, said where people look (issue 20): a pinned copy passes `resubmit`'s up-front
 * check, the repository moves on while it waits (its node is cordoned), and the agent's refusal
 * names the old and new commit on `worker.exited`, in `show`, `explain` and `audit`.
 */
describe('the agent says what changed in a pinned environment (real farm, real git)', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  let scratch: ScratchRepo | undefined;
  let repo: string;
  /** The real CLI's one-shot commands in the repository, answered by a long-lived CLI process. */
  let session: CliSession;
  const git = (...args: string[]) => scratch!.git(...args);
  const cli = async (...args: string[]) => {
    const r = await session.run(args, { DROVER_USER: 'ada' }, 60_000, repo);
    expect(r.code, `drover ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    scratch = scratchRepo('drover-envmsg-repo-');
    repo = scratch.dir;
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

  it('show, explain and audit carry the agent message naming both commits', async () => {
    const first = git('rev-parse', 'HEAD');
    const { jobId: original } = await api.submit({
      name: 'envmsg',
      user: 'ada',
      command: ['true'],
      cwd: repo,
    });
    expect((await farm.waitFor(original)).value).toBe('succeeded');

    await cli('node', 'cordon', 'node-1', '--json');
    const pinned = (
      JSON.parse(await cli('resubmit', original, '--same-environment', '--json')) as {
        jobId: string;
      }
    ).jobId;
    await writeFile(join(repo, 'requirements.txt'), 'numpy==2.0.0\n');
    git('commit', '-q', '-am', 'bump numpy');
    const second = git('rev-parse', 'HEAD');
    await cli('node', 'uncordon', 'node-1', '--json');
    expect((await farm.waitFor(pinned)).value).toBe('failed');

    const changed = `gitCommit was ${first.slice(0, 12)}, now ${second.slice(0, 12)}`;
    const exited = (await farm.events('worker', `${pinned}:0:1`)).find(
      (e) => e.type === 'worker.exited',
    );
    expect(exited?.data).toMatchObject({ cause: 'EnvironmentChanged' });
    expect((exited?.data as { message?: string }).message).toContain(changed);

    const view = JSON.parse(await cli('show', pinned, '--json')) as JobView;
    const attempt = view.chunks[0]?.attempts[0];
    expect(attempt?.cause).toBe('EnvironmentChanged');
    expect(attempt?.message).toContain(changed);
    expect(attempt?.message).toContain('requirements.txt changed');
    expect(await cli('show', pinned)).toContain(`chunk 0 attempt 1: not started:`);

    const explained = await cli('explain', pinned);
    expect(explained).toContain(`the agent said: not started: the environment of ${original}`);
    expect(explained).toContain(changed);
    const x = JSON.parse(await cli('explain', pinned, '--json')) as {
      failure: { attemptMessage?: string };
    };
    expect(x.failure.attemptMessage).toContain(changed);

    const audit = await cli('audit', `${pinned}:0:1`);
    const exitedLine = audit.split('\n').find((l) => l.includes('worker.exited'));
    expect(exitedLine).toContain(`message=not started:`);
    expect(exitedLine).toContain(changed);
  }, 120_000);
});
