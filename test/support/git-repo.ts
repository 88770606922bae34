import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The real git binary (absolute), so a test's own git calls never pass a counting wrapper. */
export const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/** A scratch git repository with a fixed author; `git(...)` runs the real git in it. */
export interface ScratchRepo {
  readonly dir: string;
  git(...args: string[]): string;
  remove(): void;
}

export function scratchRepo(prefix = 'drover-repo-'): ScratchRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]) =>
    execFileSync(REAL_GIT, args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com',
      },
    }).trim();
  git('init', '-q');
  return { dir, git, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A `git` first on this process's PATH that appends each call's arguments to a file, then
 * runs the real git: counts the git processes code under test starts. `restore()` puts PATH
 * back and removes the wrapper.
 */
export interface GitCounter {
  /** The git calls so far, one line each: `<cwd>: <arguments>`. */
  calls(): string[];
  restore(): void;
}

export function countGitCalls(): GitCounter {
  const bin = mkdtempSync(join(tmpdir(), 'drover-git-wrapper-'));
  const log = join(bin, 'calls.log');
  writeFileSync(log, '');
  const script = `#!/bin/sh\necho "$PWD: $*" >> '${log}'\nexec '${REAL_GIT}' "$@"\n`;
  writeFileSync(join(bin, 'git'), script);
  chmodSync(join(bin, 'git'), 0o755);
  const before = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${before ?? ''}`;
  return {
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    restore() {
      process.env.PATH = before;
      rmSync(bin, { recursive: true, force: true });
    },
  };
}
