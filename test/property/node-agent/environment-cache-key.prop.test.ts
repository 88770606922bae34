import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  commonDirOf,
  gitDirOfFile,
  headRef,
  repositoryKeyFiles,
  stampKey,
  trackedPaths,
  type FileStamp,
} from '../../../src/node-agent/index.js';

const big = fc.bigInt({ min: 0n, max: 2n ** 63n });
const stampArb: fc.Arbitrary<FileStamp> = fc.record({
  dev: big,
  ino: big,
  size: big,
  mtimeNs: big,
  ctimeNs: big,
});
/** Path-like names: any characters but NUL, as a path can hold. */
const nameArb = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0'));
const filesArb = fc.uniqueArray(fc.tuple(nameArb, fc.option(stampArb, { nil: null })), {
  selector: ([name]) => name,
  maxLength: 8,
});
const FIELDS = ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const;

describe('environment cache keys (issue 20, pure)', () => {
  test.prop([filesArb, fc.integer()])(
    'the key does not depend on the order files come in',
    (files, seed) => {
      const shuffled = files
        .map((f, i) => [((i + 1) * (seed | 1)) % 997, f] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, f]) => f);
      expect(stampKey(shuffled)).toBe(stampKey(files));
    },
  );

  test.prop([
    filesArb,
    fc.nat(),
    fc.constantFrom(...FIELDS),
    fc.bigInt({ min: 1n, max: 2n ** 32n }),
  ])('any change of any stamp field of any file changes the key', (files, at, field, delta) => {
    fc.pre(files.length > 0);
    const i = at % files.length;
    const [name, stamp] = files[i] as [string, FileStamp | null];
    const changed: FileStamp =
      stamp === null
        ? { dev: 0n, ino: 0n, size: 0n, mtimeNs: 0n, ctimeNs: 0n }
        : { ...stamp, [field]: stamp[field] + delta };
    const next = files.map((f, j) => (j === i ? ([name, changed] as const) : f));
    expect(stampKey(next)).not.toBe(stampKey(files));
  });

  test.prop([filesArb, nameArb, fc.option(stampArb, { nil: null })])(
    'a file appearing in the set (even as absent) changes the key',
    (files, name, stamp) => {
      fc.pre(!files.some(([n]) => n === name));
      expect(stampKey([...files, [name, stamp]])).not.toBe(stampKey(files));
    },
  );

  test.prop([filesArb, filesArb])('different sets of stamped files have different keys', (a, b) => {
    const text = (fs: typeof a) =>
      JSON.stringify(
        [...fs].sort(([x], [y]) => (x < y ? -1 : 1)),
        (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
      );
    fc.pre(text(a) !== text(b));
    expect(stampKey(a)).not.toBe(stampKey(b));
  });

  it('a name cannot forge the boundary of the next file', () => {
    const s: FileStamp = { dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n };
    expect(
      stampKey([
        ['a', s],
        ['b', null],
      ]),
    ).not.toBe(stampKey([['a', s]]));
    expect(stampKey([['a:1', null]])).not.toBe(stampKey([['a', null]]));
  });

  it('the repository key files: HEAD, index, packed-refs, reftable, and the ref HEAD names', () => {
    const plain = { root: '/r', gitDir: '/r/.git', commonDir: '/r/.git' };
    expect(repositoryKeyFiles(plain, 'ref: refs/heads/main\n')).toEqual([
      '/r/.git/HEAD',
      '/r/.git/index',
      '/r/.git/packed-refs',
      '/r/.git/reftable/tables.list',
      '/r/.git/refs/heads/main',
    ]);
    // Detached: the commit is in HEAD itself.
    expect(repositoryKeyFiles(plain, `${'a'.repeat(40)}\n`)).toHaveLength(4);
    // A linked worktree: HEAD and index its own, branches shared; bisect refs per worktree.
    const linked = { root: '/w', gitDir: '/r/.git/worktrees/w', commonDir: '/r/.git' };
    expect(repositoryKeyFiles(linked, 'ref: refs/heads/topic')).toContain(
      '/r/.git/refs/heads/topic',
    );
    expect(repositoryKeyFiles(linked, 'ref: refs/bisect/bad')).toContain(
      '/r/.git/worktrees/w/refs/bisect/bad',
    );
    expect(headRef('ref: refs/heads/../../etc')).toBeUndefined();
  });

  it('.git files and commondir resolve against where they are', () => {
    expect(gitDirOfFile('gitdir: ../r/.git/worktrees/w\n', '/src/w')).toBe(
      '/src/r/.git/worktrees/w',
    );
    expect(gitDirOfFile('gitdir: /abs/.git/modules/m\n', '/x')).toBe('/abs/.git/modules/m');
    expect(gitDirOfFile('garbage', '/x')).toBeUndefined();
    expect(commonDirOf('/r/.git/worktrees/w', '../..\n')).toBe('/r/.git');
    expect(commonDirOf('/r/.git', undefined)).toBe('/r/.git');
  });

  it('tracked paths from ls-files -s -z; a submodule makes the repository uncacheable', () => {
    const sha = 'f'.repeat(40);
    const z = (...entries: string[]) => entries.map((e) => `${e}\0`).join('');
    const out = z(`100644 ${sha} 0\ta b.txt`, `100755 ${sha} 0\tsub/run.sh`);
    expect(trackedPaths(out, '/r')).toEqual(['/r/a b.txt', '/r/sub/run.sh']);
    // A merge conflict lists a path once per stage: stamped once.
    expect(trackedPaths(z(`100644 ${sha} 1\tc`, `100644 ${sha} 2\tc`), '/r')).toEqual(['/r/c']);
    expect(trackedPaths(out + z(`160000 ${sha} 0\tvendor/lib`), '/r')).toBeUndefined();
    expect(trackedPaths('', '/r')).toEqual([]);
  });
});
