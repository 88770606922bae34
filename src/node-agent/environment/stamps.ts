import { lstat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { FileStamp } from './cache-key.js';

/** The stamp of a bigint stat (`cache-key.ts`). */
export function stampOf(s: BigIntStats): FileStamp {
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

/**
 * Each path with its `lstat` stamp (`null` when absent), as git itself compares its tracked
 * files: a symlink is stamped, not followed.
 */
export function stampAll(paths: readonly string[]): Promise<[string, FileStamp | null][]> {
  return Promise.all(
    paths.map(async (p): Promise<[string, FileStamp | null]> => [
      p,
      await lstat(p, { bigint: true }).then(stampOf, () => null),
    ]),
  );
}
