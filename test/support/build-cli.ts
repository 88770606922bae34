import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vitest globalSetup: make dist/ (the compiled CLI the tests spawn, see cli-main.ts) current.
 * `npm ci` builds it through `prepare`; after an edit under src/ this rebuilds it once, so a test
 * never runs yesterday's CLI. The stamp is the start of the last build: an edit made during a build
 * makes the next run build again.
 */
const ROOT = join(import.meta.dirname, '../..');
const STAMP = join(ROOT, 'dist/.built-at');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

function isCurrent(): boolean {
  const main = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(main)) return false;
  // `npm ci`'s prepare builds without a stamp: then the build's output stands for it.
  const built = statSync(existsSync(STAMP) ? STAMP : main).mtimeMs;
  return ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].every(
    (p) => newestMtime(join(ROOT, p)) <= built,
  );
}

export default function buildCli(): void {
  if (isCurrent()) return;
  const started = new Date();
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) {
    throw new Error(`building dist/ for the CLI tests failed:\n${build.stdout}${build.stderr}`);
  }
  writeFileSync(STAMP, started.toISOString() + '\n');
  // The stamp's mtime must be the build's start, not its end (see above).
  utimesSync(STAMP, started, started);
}
