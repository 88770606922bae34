import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * The keys of the environment cache (issue 20, launch cost): what must be unchanged for an
 * earlier capture of a cwd to still be true. Pure: no I/O; the shell stats and reads files
 * and passes the facts in.
 */

/**
 * What `lstat` says of a file, as the cache compares it: any write changes ctime (a user
 * cannot set it back), a rename-over (how git writes HEAD, refs and the index) changes the
 * inode, so equal stamps mean an unchanged file. `null`: the file does not exist.
 */
export interface FileStamp {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

const stampText = (s: FileStamp | null) =>
  s === null ? '-' : `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

/**
 * One key for a set of named files and their stamps: SHA-256 of `name NUL stamp NUL` lines
 * sorted by name, so the order they were statted in does not matter, and no name or stamp can
 * forge another's boundary (a path holds no NUL). Pure.
 */
export function stampKey(files: Iterable<readonly [string, FileStamp | null]>): string {
  const lines = [...files]
    .map(([name, s]) => `${name}\0${stampText(s)}\0`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/** Where a repository keeps its files: the per-worktree git dir and the shared common dir. */
export interface GitLayout {
  /** The working tree's top directory (where `.git` is). */
  readonly root: string;
  /** `HEAD`, `index` and per-worktree refs live here (`.git`, or `.git/worktrees/<name>`). */
  readonly gitDir: string;
  /** Branches, tags and `packed-refs` live here (the main `.git` for a linked worktree). */
  readonly commonDir: string;
}

/**
 * The git dir named by a `.git` file (`gitdir: <path>`, as linked worktrees and submodules
 * have), resolved against the directory holding the file; `undefined` when it is not one. Pure.
 */
export function gitDirOfFile(content: string, root: string): string | undefined {
  const m = /^gitdir: (.+)$/m.exec(content);
  const path = m?.[1]?.trim();
  if (!path) return undefined;
  return isAbsolute(path) ? path : resolve(root, path);
}

/** The common dir named by `<gitDir>/commondir` (absent file: the git dir itself). Pure. */
export function commonDirOf(gitDir: string, commondirFile: string | undefined): string {
  const path = commondirFile?.trim();
  if (!path) return gitDir;
  return isAbsolute(path) ? path : resolve(gitDir, path);
}

/** The ref `HEAD` points to (`ref: refs/heads/main` → `refs/heads/main`); none when detached. Pure. */
export function headRef(head: string): string | undefined {
  const m = /^ref: (refs\/\S+)\s*$/.exec(head);
  const ref = m?.[1];
  return ref && !ref.split('/').includes('..') ? ref : undefined;
}

/** Refs kept per worktree (git's `worktree` ref storage), not in the common dir. */
const PER_WORKTREE = /^refs\/(bisect|worktree|rewritten)\//;

/**
 * The files whose stamps decide the commit and the staged state of a repository: `HEAD`, the
 * loose ref it names, `packed-refs`, the reftable list (newer repositories keep refs there), and
 * the index. A commit rewrites the branch's ref and the index; a checkout rewrites `HEAD`. Pure.
 */
export function repositoryKeyFiles(layout: GitLayout, head: string): string[] {
  const ref = headRef(head);
  const refDir = ref && PER_WORKTREE.test(ref) ? layout.gitDir : layout.commonDir;
  return [
    join(layout.gitDir, 'HEAD'),
    join(layout.gitDir, 'index'),
    join(layout.commonDir, 'packed-refs'),
    join(layout.commonDir, 'reftable', 'tables.list'),
    ...(ref ? [join(refDir, ref)] : []),
  ];
}

/** A gitlink (submodule) entry's mode in `git ls-files -s`. */
const GITLINK_MODE = '160000';

/**
 * The tracked paths of `git ls-files -s -z` output (`<mode> <sha> <stage>\t<path>` NUL-ended),
 * absolute under `root`; `undefined` when a submodule is tracked: its own commits and edits
 * leave no stamp in this repository, so such a repository is never served from the cache. Pure.
 */
export function trackedPaths(lsFilesStaged: string, root: string): string[] | undefined {
  const out = new Set<string>();
  for (const entry of lsFilesStaged.split('\0')) {
    if (entry === '') continue;
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    if (entry.startsWith(`${GITLINK_MODE} `)) return undefined;
    out.add(join(root, entry.slice(tab + 1)));
  }
  return [...out];
}
