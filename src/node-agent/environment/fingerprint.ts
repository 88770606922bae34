import { createHash } from 'node:crypto';

/**
 * The hashes of an environment (issue 20). Deterministic and order-independent: the same names
 * and values give the same hash whatever order they come in, so two attempts compare by hash.
 * Values are hashed, never kept: a secret in the environment leaves only its part of a digest.
 */

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/**
 * SHA-256 of the variables' names and values, sorted by name; `undefined` values (as
 * `process.env` may hold) count as unset. Names and values are NUL-separated: no variable can
 * forge another's boundary (a NUL cannot be in either).
 */
export function envHash(vars: Readonly<Record<string, string | undefined>>): string {
  const lines = Object.entries(vars)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}\0${v}\0`);
  return sha256(lines.join(''));
}

/** SHA-256 of one file's bytes (a lockfile). */
export function contentHash(bytes: Buffer | string): string {
  return sha256(bytes);
}

/**
 * One hash for a set of lockfiles, from each file's name and content hash, sorted by name; the
 * order the directory listed them in does not matter. `undefined` for no lockfile at all.
 */
export function lockfileHash(files: Readonly<Record<string, string>>): string | undefined {
  const names = Object.keys(files).sort();
  if (names.length === 0) return undefined;
  return sha256(names.map((n) => `${n}\0${files[n]}\0`).join(''));
}
