import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Environment } from '../../events/index.js';
import { contentHash, envHash, lockfileHash } from './fingerprint.js';

/**
 * The lockfiles looked for in the cwd itself (not its parents): npm, yarn, pnpm, pip
 * requirements, poetry, uv, pipenv, conda (environment file and conda-lock), cargo and go.
 */
export const LOCKFILE_PATTERNS: readonly RegExp[] = [
  /^package-lock\.json$/,
  /^npm-shrinkwrap\.json$/,
  /^yarn\.lock$/,
  /^pnpm-lock\.yaml$/,
  /^requirements.*\.txt$/,
  /^poetry\.lock$/,
  /^uv\.lock$/,
  /^Pipfile\.lock$/,
  /^environment\.ya?ml$/,
  /^conda-lock\.ya?ml$/,
  /^.*\.conda-lock\.ya?ml$/,
  /^Cargo\.lock$/,
  /^go\.sum$/,
];

/** A lockfile larger than this is hashed by its size and mtime alone (never read whole). */
const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

/** Whether `name` is a lockfile Drover hashes. */
export function isLockfile(name: string): boolean {
  return LOCKFILE_PATTERNS.some((p) => p.test(name));
}

/** drover's own version (package.json, two levels above src/node-agent and dist/node-agent). */
export function droverVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export interface CaptureOptions {
  readonly cwd: string;
  /** The variables the process will see (the per-attempt `DROVER_*` ones left out by the caller). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly agentVersion: string;
  /** The container image digest, when the job gives one. */
  readonly image?: string;
  /** Bound of each git command: a huge or stuck repository must not hold a launch (default 5 s). */
  readonly gitTimeoutMs?: number;
}

/** Whether `dir` or a parent holds `.git` (a directory, or a file for worktrees): no git spawn otherwise. */
async function inRepository(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    if (
      await stat(join(d, '.git')).then(
        () => true,
        () => false,
      )
    )
      return true;
    if (dirname(d) === d) return false;
  }
}

interface GitRun {
  readonly stdout: string;
  readonly overflow: boolean;
}

/**
 * One git command, bounded in time and output. `GIT_OPTIONAL_LOCKS=0`: status never takes the
 * index lock the user's own git may want; `core.fsmonitor=false`: no hook runs for us.
 */
function git(cwd: string, args: string[], timeoutMs: number): Promise<GitRun | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', ...args],
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024,
        env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
      },
      (err, stdout) => {
        const overflow =
          (err as { code?: string } | null)?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        resolve(err && !overflow ? undefined : { stdout: String(stdout), overflow });
      },
    );
  });
}

/**
 * The cwd's commit and dirty flag when it is in a repository; either is left out when git
 * cannot tell within the bound (no git, not a repository, no commit yet, timed out). Dirty is
 * about tracked files only (`--untracked-files=no`): scratch output does not make a job dirty.
 */
export async function gitState(
  cwd: string,
  timeoutMs = 5000,
): Promise<Pick<Environment, 'gitCommit' | 'dirty'>> {
  if (!(await inRepository(cwd))) return {};
  const [head, status] = await Promise.all([
    git(cwd, ['rev-parse', '--verify', '-q', 'HEAD'], timeoutMs),
    git(cwd, ['status', '--porcelain', '--untracked-files=no'], timeoutMs),
  ]);
  const commit = head?.stdout.trim();
  return {
    ...(commit && /^[0-9a-f]{40,64}$/.test(commit) && { gitCommit: commit }),
    // Output beyond the buffer is a very dirty tree, not an unknown one.
    ...(status && { dirty: status.overflow || status.stdout.trim().length > 0 }),
  };
}

/** Each lockfile of `cwd` with its content hash (an unreadable one is left out). */
export async function lockfilesOf(cwd: string): Promise<Record<string, string>> {
  const names = await readdir(cwd).catch(() => [] as string[]);
  const found = names.filter(isLockfile).sort();
  const hashes = await Promise.all(
    found.map(async (name) => {
      const path = join(cwd, name);
      const s = await stat(path).catch(() => undefined);
      if (!s?.isFile()) return undefined;
      if (s.size > MAX_LOCKFILE_BYTES) return [name, contentHash(`${s.size}:${s.mtimeMs}`)];
      const bytes = await readFile(path).catch(() => undefined);
      return bytes && [name, contentHash(bytes)];
    }),
  );
  return Object.fromEntries(hashes.filter((h): h is [string, string] => h !== undefined));
}

/**
 * What an attempt runs in (issue 20), read from the world: git, the cwd's lockfiles, the
 * variables. Never throws for what it cannot read: that fact is left out.
 */
export async function captureEnvironment(o: CaptureOptions): Promise<Environment> {
  const [gitFacts, lockfiles] = await Promise.all([
    gitState(o.cwd, o.gitTimeoutMs),
    lockfilesOf(o.cwd),
  ]);
  const lockHash = lockfileHash(lockfiles);
  return {
    cwd: o.cwd,
    ...gitFacts,
    ...(lockHash !== undefined && { lockfileHash: lockHash, lockfiles }),
    ...(o.image !== undefined && { image: o.image }),
    envHash: envHash(o.env),
    agentVersion: o.agentVersion,
  };
}
