import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { captureEnvironment, envHash, lockfileHash } from '../../../src/node-agent/index.js';
import { diffJobs, environmentChanges } from '../../../src/policy/index.js';

const vars = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }));

describe('environment hashes (issue 20)', () => {
  test.prop([vars, fc.integer()])('envHash is independent of the order of variables', (v, seed) => {
    const entries = Object.entries(v);
    const shuffled = entries
      .map((e, i) => [((i + 1) * (seed | 1)) % 997, e] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, e]) => e);
    expect(envHash(Object.fromEntries(shuffled))).toBe(envHash(v));
  });
  test.prop([vars, fc.string({ minLength: 1, maxLength: 8 })])(
    'changing one value changes envHash; undefined counts as unset',
    (v, name) => {
      expect(envHash({ ...v, [name]: `${v[name] ?? ''}x` })).not.toBe(envHash(v));
      const without = { ...v };
      delete without[name];
      expect(envHash({ ...without, [name]: undefined })).toBe(envHash(without));
    },
  );
  it('lockfileHash: none for no files, order-independent, changes with a file', () => {
    expect(lockfileHash({})).toBeUndefined();
    const h = lockfileHash({ 'uv.lock': 'a', 'package-lock.json': 'b' });
    expect(lockfileHash({ 'package-lock.json': 'b', 'uv.lock': 'a' })).toBe(h);
    expect(lockfileHash({ 'package-lock.json': 'c', 'uv.lock': 'a' })).not.toBe(h);
  });
});

describe('environmentChanges and diffJobs (pure)', () => {
  const c1 = 'a'.repeat(40);
  const c2 = 'b'.repeat(40);
  it('says what changed, and nothing when it still holds', () => {
    const pin = {
      gitCommit: c1,
      dirty: false,
      lockfileHash: '1'.repeat(64),
      lockfiles: { 'uv.lock': '2'.repeat(64) },
    };
    expect(environmentChanges(pin, pin)).toEqual([]);
    const now = {
      gitCommit: c2,
      dirty: false,
      lockfileHash: '3'.repeat(64),
      lockfiles: { 'uv.lock': '4'.repeat(64) },
    };
    expect(environmentChanges(pin, now)).toEqual([
      `gitCommit was ${c1.slice(0, 12)}, now ${c2.slice(0, 12)}`,
      `lockfileHash was ${'1'.repeat(12)}, now ${'3'.repeat(12)} (uv.lock changed)`,
    ]);
    expect(environmentChanges({}, { gitCommit: c1 })).toEqual([
      `gitCommit was none, now ${c1.slice(0, 12)}`,
    ]);
  });
  it('diffJobs names request and environment fields, in a fixed order', () => {
    const env = { cwd: '/w', gitCommit: c1, envHash: '5'.repeat(64), agentVersion: '1.0.0' };
    const job = {
      id: 'a',
      name: 'n',
      pool: 'default',
      command: ['x'],
      request: { cpus: 1, memMb: 512, gpus: 0 },
      retries: 0,
      chunks: [1],
      environment: env,
    };
    expect(diffJobs(job, job)).toEqual([]);
    const other = {
      ...job,
      id: 'b',
      request: { cpus: 2, memMb: 512, gpus: 0 },
      environment: { ...env, gitCommit: c2 },
    };
    expect(diffJobs(job, other)).toEqual([
      { field: 'cpus', a: 1, b: 2 },
      { field: 'environment.gitCommit', a: c1, b: c2 },
    ]);
    const { environment: _e, ...never } = other;
    expect(diffJobs(job, never).map((d) => d.field)).toEqual(['cpus', 'environment']);
  });
});

describe('captureEnvironment on a real git repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();
  it('records commit, dirty flag and lockfiles, and sees them change', async () => {
    const plain = await captureEnvironment({ cwd: dir, env: {}, agentVersion: 't' });
    expect(plain.gitCommit).toBeUndefined();
    expect(plain.lockfileHash).toBeUndefined();
    git('init', '-q');
    writeFileSync(join(dir, 'requirements.txt'), 'numpy==1.26\n');
    writeFileSync(join(dir, 'notes.md'), 'not a lockfile\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    const one = await captureEnvironment({ cwd: dir, env: { A: '1' }, agentVersion: 't' });
    expect(one.gitCommit).toBe(git('rev-parse', 'HEAD'));
    expect(one.dirty).toBe(false);
    expect(Object.keys(one.lockfiles ?? {})).toEqual(['requirements.txt']);
    writeFileSync(join(dir, 'requirements.txt'), 'numpy==2.0\n');
    const dirty = await captureEnvironment({ cwd: dir, env: { A: '1' }, agentVersion: 't' });
    expect(dirty.dirty).toBe(true);
    expect(dirty.lockfileHash).not.toBe(one.lockfileHash);
    git('commit', '-qam', 'two');
    const two = await captureEnvironment({ cwd: dir, env: { A: '1' }, agentVersion: 't' });
    expect(environmentChanges(one, two).map((s) => s.split(' ')[0])).toEqual([
      'gitCommit',
      'lockfileHash',
    ]);
    expect(two.envHash).toBe(one.envHash);
  });
});
