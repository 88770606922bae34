import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchWork } from '../../../src/events/index.js';
import { attemptEnvironment } from '../../../src/node-agent/attempt-environment.js';
import { captureEnvironment, createEnvironmentCache } from '../../../src/node-agent/index.js';
import { countGitCalls, scratchRepo, type GitCounter } from '../../support/git-repo.js';

/**
 * The environment cache against real git and a real file system: the cached capture always
 * equals a fresh one, and an unchanged repository starts no git process (a counting wrapper
 * first on PATH tells).
 */
describe('environment cache (issue 20, launch cost)', () => {
  let counter: GitCounter;
  beforeAll(() => {
    counter = countGitCalls();
  });
  afterAll(() => counter.restore());
  const opts = (cwd: string) => ({ cwd, env: { A: '1' }, agentVersion: '0.0.0' });

  it('serves an unchanged repository without git, and sees edits, adds, commits and lockfiles', async () => {
    const repo = scratchRepo();
    try {
      writeFileSync(join(repo.dir, 'run.py'), 'print(1)\n');
      writeFileSync(join(repo.dir, 'requirements.txt'), 'numpy==1\n');
      repo.git('add', '.');
      repo.git('commit', '-q', '-m', 'first');
      const cache = createEnvironmentCache();
      const check = async (want: { git: boolean }) => {
        const before = counter.calls().length;
        const cached = await cache.capture(opts(repo.dir));
        const used = counter.calls().length - before;
        expect(cached).toEqual(await captureEnvironment(opts(repo.dir)));
        if (want.git) expect(used).toBeGreaterThan(0);
        else expect(used).toBe(0);
        return cached;
      };
      const first = await check({ git: true });
      expect(first).toMatchObject({ gitCommit: repo.git('rev-parse', 'HEAD'), dirty: false });
      await check({ git: false });

      writeFileSync(join(repo.dir, 'run.py'), 'print(2)\n'); // edited, not added
      expect((await check({ git: true })).dirty).toBe(true);
      await check({ git: false });
      repo.git('add', 'run.py');
      expect((await check({ git: true })).dirty).toBe(true);
      repo.git('commit', '-q', '-m', 'second');
      const committed = await check({ git: true });
      expect(committed).toMatchObject({ gitCommit: repo.git('rev-parse', 'HEAD'), dirty: false });
      expect(committed.gitCommit).not.toBe(first.gitCommit);

      // A new lockfile is not tracked: git's facts stay cached, the lockfiles are read again.
      writeFileSync(join(repo.dir, 'uv.lock'), 'x\n');
      const locked = await check({ git: false });
      expect(Object.keys(locked.lockfiles ?? {}).sort()).toEqual(['requirements.txt', 'uv.lock']);
      writeFileSync(join(repo.dir, 'requirements.txt'), 'numpy==2\n'); // tracked: dirty again
      expect((await check({ git: true })).lockfileHash).not.toBe(locked.lockfileHash);
    } finally {
      repo.remove();
    }
  }, 60_000);

  it('a pinned launch always looks again', async () => {
    const repo = scratchRepo();
    try {
      writeFileSync(join(repo.dir, 'a'), '1\n');
      repo.git('add', '.');
      repo.git('commit', '-q', '-m', 'first');
      const cache = createEnvironmentCache();
      const work = { env: {} } as unknown as LaunchWork;
      const pinned = { ...work, pinnedEnvironment: { from: 'J1' } } as unknown as LaunchWork;
      await attemptEnvironment(work, repo.dir, '0.0.0', cache);
      const before = counter.calls().length;
      await attemptEnvironment(work, repo.dir, '0.0.0', cache);
      expect(counter.calls().length).toBe(before);
      await attemptEnvironment(pinned, repo.dir, '0.0.0', cache);
      expect(counter.calls().length).toBeGreaterThan(before);
    } finally {
      repo.remove();
    }
  }, 60_000);

  it('random edits, adds, commits, checkouts and lockfiles: cached always equals fresh', async () => {
    const repo = scratchRepo();
    try {
      writeFileSync(join(repo.dir, 'f0'), '0\n');
      repo.git('add', '.');
      repo.git('commit', '-q', '-m', 'base');
      const cache = createEnvironmentCache();
      let n = 0;
      const ops = {
        edit: (i: number) => writeFileSync(join(repo.dir, `f${i}`), `${++n}\n`),
        add: () => repo.git('add', '-A'),
        commit: () => repo.git('commit', '-q', '--allow-empty', '-am', `c${++n}`),
        checkout: () => repo.git('checkout', '-q', '--detach', 'HEAD'),
        branch: () => repo.git('checkout', '-q', '-B', `b${n % 2}`),
        lockfile: () => writeFileSync(join(repo.dir, 'poetry.lock'), `${++n}\n`),
        revert: () => repo.git('checkout', '-q', '--', '.'),
      };
      const op = fc.tuple(
        fc.constantFrom(...(Object.keys(ops) as (keyof typeof ops)[])),
        fc.nat(2),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (steps) => {
          for (const [name, i] of steps) {
            ops[name](i);
            expect(await cache.capture(opts(repo.dir))).toEqual(
              await captureEnvironment(opts(repo.dir)),
            );
          }
        }),
        { numRuns: 8 },
      );
    } finally {
      repo.remove();
    }
  }, 120_000);
});
