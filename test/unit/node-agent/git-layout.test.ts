import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ancestorsOf, findGitLayout } from '../../../src/node-agent/environment/cached-capture.js';

/**
 * findGitLayout looks at every ancestor's `.git` at once (a launch waits for it): the answer
 * must still be the nearest repository, as the walk one level at a time gave.
 */
describe('findGitLayout', () => {
  const top = mkdtempSync(join(tmpdir(), 'drover-git-layout-'));
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it('lists a directory and its parents, nearest first, up to the root', () => {
    expect(ancestorsOf('/a/b/c')).toEqual(['/a/b/c', '/a/b', '/a', '/']);
    expect(ancestorsOf('/')).toEqual(['/']);
  });

  it('finds no repository where there is none (a run dir not made yet included)', async () => {
    const plain = join(top, 'plain');
    mkdirSync(plain);
    expect(await findGitLayout(join(plain, 'runs', 'w1'))).toBeUndefined();
  });

  it('takes the nearest .git: a worktree file below a repository wins over it', async () => {
    const outer = join(top, 'outer');
    const inner = join(outer, 'sub', 'wt');
    mkdirSync(join(outer, '.git'), { recursive: true });
    mkdirSync(join(top, 'elsewhere', '.git', 'worktrees', 'wt'), { recursive: true });
    mkdirSync(inner, { recursive: true });
    const wtGitDir = join(top, 'elsewhere', '.git', 'worktrees', 'wt');
    writeFileSync(join(inner, '.git'), `gitdir: ${wtGitDir}\n`);
    writeFileSync(join(wtGitDir, 'commondir'), '../..\n');

    const deep = await findGitLayout(join(inner, 'a', 'b'));
    expect(deep).toMatchObject({ root: inner, gitDir: wtGitDir });
    expect(deep?.commonDir).toBe(join(top, 'elsewhere', '.git'));

    const beside = await findGitLayout(join(outer, 'sub'));
    expect(beside).toMatchObject({ root: outer, gitDir: join(outer, '.git') });
  });

  it('stops at an unreadable .git file nearer than a repository (as the walk did)', async () => {
    const outer = join(top, 'outer2');
    const inner = join(outer, 'x');
    mkdirSync(join(outer, '.git'), { recursive: true });
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(inner, '.git'), 'not a gitdir line\n');
    expect(await findGitLayout(inner)).toBeUndefined();
  });
});
