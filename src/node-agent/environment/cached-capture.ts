import { lstat, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Environment } from '../../events/index.js';
import {
  commonDirOf,
  gitDirOfFile,
  repositoryKeyFiles,
  stampKey,
  trackedPaths,
  type GitLayout,
} from './cache-key.js';
import {
  captureEnvironment,
  git,
  gitState,
  type CaptureOptions,
  type GitFacts,
  type LockfileMemo,
} from './capture.js';
import { stampAll } from './stamps.js';

/**
 * A per-cwd cache of captured environments (issue 20, launch cost): without it every launch in
 * a repository starts two git processes and reads every lockfile. A cwd's git facts are served
 * again while the stamps (`cache-key.ts`) of `HEAD`, its ref, `packed-refs`, the reftable list,
 * the index and every tracked file are unchanged (tracked files too: an edit without `git add`
 * makes the tree dirty, and only their stamps show it); a lockfile is read again only when its
 * own stamp changed. Stamps are taken before git runs, so a change while it runs is seen next time.
 */
export interface EnvironmentCache {
  /** What an attempt runs in: as `captureEnvironment`, from the cache where nothing changed. */
  capture(o: CaptureOptions): Promise<Environment>;
}

export interface EnvironmentCacheOptions {
  /** Cwds remembered (least recently used go first; default 256). */
  readonly maxEntries?: number;
  /**
   * Above this many tracked files a repository is not cached (default 10,000): stamping them
   * at each launch would cost about what `git status` does.
   */
  readonly maxTrackedFiles?: number;
  /** Lockfile hashes remembered (default 4096). */
  readonly maxLockfiles?: number;
  /** Tracked paths remembered over all cwds (default 100,000: a few MB of the agent's heap). */
  readonly maxTrackedHeld?: number;
}

interface Entry {
  /** `stampKey` of the repository's key files when `tracked` was listed. */
  readonly repoKey: string;
  /** Tracked paths; `undefined`: this repository is not cached (submodules, too many files). */
  readonly tracked: readonly string[] | undefined;
  /** Facts and the full key (repository + tracked files) they were captured under. */
  readonly facts?: { readonly key: string; readonly value: GitFacts };
}

/** `dir` and each of its parents, nearest first. Pure. */
export function ancestorsOf(dir: string): string[] {
  const out = [dir];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) out.push(dirname(d));
  return out;
}

/**
 * Where `cwd`'s repository keeps its files, or `undefined` when it is in none: the nearest
 * ancestor's `.git`. Every level is looked at at once: a launch waits for this, and one level
 * after the other cost a thread-pool round trip each (six for a run dir under /tmp).
 */
export async function findGitLayout(cwd: string): Promise<GitLayout | undefined> {
  const roots = ancestorsOf(cwd);
  const found = await Promise.all(
    roots.map((root) => lstat(join(root, '.git')).catch(() => undefined)),
  );
  for (let i = 0; i < roots.length; i++) {
    const [root, s] = [roots[i] as string, found[i]];
    const dotGit = join(root, '.git');
    if (s?.isDirectory()) return layoutOf(root, dotGit);
    if (s?.isFile()) {
      const gitDir = gitDirOfFile(await readFile(dotGit, 'utf8').catch(() => ''), root);
      return gitDir === undefined ? undefined : layoutOf(root, gitDir);
    }
  }
  return undefined;
}

async function layoutOf(root: string, gitDir: string): Promise<GitLayout> {
  const commondir = await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => undefined);
  return { root, gitDir, commonDir: commonDirOf(gitDir, commondir) };
}

/**
 * Forget the oldest entries of `map` (insertion order is use order) while there are more than
 * `max` or `weight` says they hold more than `maxWeight`.
 */
function trim<K, V>(map: Map<K, V>, max: number, weight = (_: V) => 0, maxWeight = 0): void {
  let held = 0;
  for (const v of map.values()) held += weight(v);
  for (const [k, v] of map) {
    if (map.size <= max && held <= maxWeight) return;
    map.delete(k);
    held -= weight(v);
  }
}

/** The ls-files output a cacheable repository may print (10,000 long paths fit). */
const LS_FILES_BUFFER = 16 * 1024 * 1024;

export function createEnvironmentCache(opts: EnvironmentCacheOptions = {}): EnvironmentCache {
  const maxEntries = opts.maxEntries ?? 256;
  const maxTracked = opts.maxTrackedFiles ?? 10_000;
  const entries = new Map<string, Entry>();
  const lockfileMemo: LockfileMemo = new Map();
  /** Captures under way by cwd and key: a burst of launches in one cwd runs git once. */
  const inFlight = new Map<string, Promise<GitFacts>>();

  const maxHeld = opts.maxTrackedHeld ?? 100_000;
  const remember = (cwd: string, e: Entry) => {
    entries.delete(cwd);
    entries.set(cwd, e);
    trim(entries, maxEntries, (x) => x.tracked?.length ?? 0, maxHeld);
  };

  /** The tracked paths of the repository, listed again only when its key files changed. */
  async function trackedOf(cwd: string, layout: GitLayout, repoKey: string, timeoutMs: number) {
    const prior = entries.get(cwd);
    if (prior?.repoKey === repoKey) return prior;
    const listed = await git(layout.root, ['ls-files', '-s', '-z'], timeoutMs, LS_FILES_BUFFER);
    const paths = listed && !listed.overflow ? trackedPaths(listed.stdout, layout.root) : undefined;
    const tracked = paths && paths.length <= maxTracked ? paths : undefined;
    const entry: Entry = { repoKey, tracked };
    remember(cwd, entry);
    return entry;
  }

  async function cachedGitState(cwd: string, timeoutMs = 5000): Promise<GitFacts> {
    const layout = await findGitLayout(cwd);
    if (!layout) return {};
    const head = await readFile(join(layout.gitDir, 'HEAD'), 'utf8').catch(() => undefined);
    if (head === undefined) return gitState(cwd, timeoutMs);
    const repoKey = stampKey(await stampAll(repositoryKeyFiles(layout, head)));
    const entry = await trackedOf(cwd, layout, repoKey, timeoutMs);
    if (!entry.tracked) return gitState(cwd, timeoutMs);
    const key = `${repoKey}:${stampKey(await stampAll(entry.tracked))}`;
    if (entry.facts?.key === key) {
      remember(cwd, entry);
      return entry.facts.value;
    }
    const flightKey = `${cwd}\0${key}`;
    const pending = inFlight.get(flightKey) ?? gitState(cwd, timeoutMs);
    inFlight.set(flightKey, pending);
    const value = await pending.finally(() => inFlight.delete(flightKey));
    // Only whole answers are kept: a timed-out git must be asked again next time.
    if (value.gitCommit !== undefined && value.dirty !== undefined) {
      remember(cwd, { ...entry, facts: { key, value } });
    }
    return value;
  }

  return {
    async capture(o) {
      const env = await captureEnvironment(o, { gitState: cachedGitState, lockfileMemo });
      trim(lockfileMemo, opts.maxLockfiles ?? 4096, () => 0, 0);
      return env;
    },
  };
}
