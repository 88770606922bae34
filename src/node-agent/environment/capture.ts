import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Environment } from '../../events/index.js';
import { stampKey } from './cache-key.js';
import { contentHash, envHash, lockfileHash } from './fingerprint.js';
import { stampOf } from './stamps.js';

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

/** What one git command printed; `overflow` when it printed more than its buffer holds. */
export interface GitRun {
  readonly stdout: string;
  readonly overflow: boolean;
}

/**
 * One git command, bounded in time and output (`undefined` when it failed or timed out).
 * `GIT_OPTIONAL_LOCKS=0`: status never takes the index lock the user's own git may want;
 * `core.fsmonitor=false`: no hook runs for us.
 */
export function git(
  cwd: string,
  args: string[],
  timeoutMs: number,
  maxBuffer = 64 * 1024,
): Promise<GitRun | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', ...args],
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer,
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
/** The git facts of an environment. */
export type GitFacts = Pick<Environment, 'gitCommit' | 'dirty'>;

export async function gitState(cwd: string, timeoutMs = 5000): Promise<GitFacts> {
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

/**
 * Content hashes of lockfiles by path, each with the stamp (`stampKey`) its file had when
 * statted just before it was read: an unchanged stamp means unchanged bytes, so the file is not
 * read again. The caller bounds its size.
 */
export type LockfileMemo = Map<string, { readonly stamp: string; readonly hash: string }>;

/** `stat().mtimeMs` from a bigint stat, computed as Node computes it (hashes stay comparable). */
const mtimeMsOf = (ns: bigint) =>
  Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;

/** One lockfile's hash: from `memo` when its stamp is unchanged, else read (stat first). */
async function lockfileEntry(path: string, memo?: LockfileMemo): Promise<string | undefined> {
  const s = await stat(path, { bigint: true }).catch(() => undefined);
  if (!s?.isFile()) return undefined;
  const stamp = stampKey([[path, stampOf(s)]]);
  const known = memo?.get(path);
  if (known?.stamp === stamp) return known.hash;
  const hash =
    s.size > MAX_LOCKFILE_BYTES
      ? contentHash(`${s.size}:${mtimeMsOf(s.mtimeNs)}`)
      : await readFile(path).then(contentHash, () => undefined);
  if (hash !== undefined) memo?.set(path, { stamp, hash });
  return hash;
}

/**
 * Each lockfile of `cwd` with its content hash (an unreadable one is left out); with `memo`,
 * a lockfile whose stamp is unchanged since it was last hashed is not read again.
 */
export async function lockfilesOf(
  cwd: string,
  memo?: LockfileMemo,
): Promise<Record<string, string>> {
  const names = await readdir(cwd).catch(() => [] as string[]);
  const found = names.filter(isLockfile).sort();
  const hashes = await Promise.all(
    found.map(async (name) => {
      const hash = await lockfileEntry(join(cwd, name), memo);
      return hash === undefined ? undefined : ([name, hash] as [string, string]);
    }),
  );
  return Object.fromEntries(hashes.filter((h): h is [string, string] => h !== undefined));
}

/** The parts of a capture a cache replaces: the git facts and the lockfile memo. */
export interface CaptureParts {
  readonly gitState?: (cwd: string, timeoutMs?: number) => Promise<GitFacts>;
  readonly lockfileMemo?: LockfileMemo;
}

/**
 * What an attempt runs in (issue 20), read from the world: git, the cwd's lockfiles, the
 * variables. Never throws for what it cannot read: that fact is left out.
 */
export async function captureEnvironment(
  o: CaptureOptions,
  parts: CaptureParts = {},
): Promise<Environment> {
  const [gitFacts, lockfiles] = await Promise.all([
    (parts.gitState ?? gitState)(o.cwd, o.gitTimeoutMs),
    lockfilesOf(o.cwd, parts.lockfileMemo),
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
