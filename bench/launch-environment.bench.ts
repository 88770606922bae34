import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  captureEnvironment,
  createEnvironmentCache,
  type CaptureOptions,
} from '../src/node-agent/index.js';
import { launch } from '../src/node-agent/supervisor/index.js';
import { percentile } from '../test/support/bench-farm.js';

/**
 * Launch → started latency of tiny jobs whose cwd is a git repository (issue 20, launch cost):
 * the agent's own part of a launch, from taking the work to knowing the pid: capture the
 * environment, then `launch` (run dir, log files, the `sh` wrapper in its own group).
 * Three paths, one job of each in turn (the machine's load drifts; only side-by-side figures
 * compare): the capture as it was (two git processes and the lockfiles read at every launch),
 * through the agent's cache, and bare `spawn('true')` until its 'spawn' event as the floor.
 */

type Path = 'bare' | 'uncached' | 'cached';

/** A repository like a small project: `files` tracked files, two lockfiles, one commit. */
async function makeRepo(files: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drover-launch-env-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@example.com',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@example.com',
      },
    });
  git('init', '-q');
  for (let i = 0; i < files; i++) await writeFile(join(dir, `m${i}.py`), `x = ${i}\n`);
  await writeFile(join(dir, 'requirements.txt'), 'numpy==1.26.0\npandas==2.2.0\n');
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3 }));
  git('add', '.');
  git('commit', '-q', '-m', 'bench');
  return dir;
}

async function bareStart(cwd: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn('true', { cwd, stdio: 'ignore' });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const ms = performance.now() - t0;
  await new Promise((resolve) => child.once('exit', resolve));
  return ms;
}

async function droverStart(
  capture: () => Promise<unknown>,
  cwd: string,
  runDir: string,
  workerId: string,
): Promise<number> {
  const t0 = performance.now();
  await capture();
  const s = await launch(
    { workerId, command: ['true'], env: {}, memLimitMb: 64, runDir, cwd },
    {},
    { sampleMs: 60_000 },
  );
  const ms = performance.now() - t0;
  const o = await s.done;
  if (o.cause !== 'Succeeded') throw new Error(`bench launch failed: ${o.message}`);
  return ms;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50Ms: r(percentile(s, 50)), p99Ms: r(percentile(s, 99)), maxMs: r(s.at(-1) ?? NaN) };
};

export async function launchEnvironmentBench(jobs = 200, trackedFiles = 50) {
  const repo = await makeRepo(trackedFiles);
  const runs = await mkdtemp(join(tmpdir(), 'drover-launch-env-runs-'));
  try {
    const o: CaptureOptions = { cwd: repo, env: { ...process.env }, agentVersion: 'bench' };
    const cache = createEnvironmentCache();
    const paths: Record<Path, () => Promise<unknown>> = {
      bare: async () => undefined,
      uncached: () => captureEnvironment(o),
      cached: () => cache.capture(o),
    };
    const ms: Record<Path, number[]> = { bare: [], uncached: [], cached: [] };
    const order: Path[] = ['bare', 'uncached', 'cached'];
    for (let i = -10; i < jobs; i++) {
      // Ten warm-up rounds (module paths, the JIT, the cache's first capture) are not counted.
      for (let k = 0; k < order.length; k++) {
        const path = order[(i + 30 + k) % order.length] as Path;
        const t =
          path === 'bare'
            ? await bareStart(repo)
            : await droverStart(paths[path], repo, join(runs, `${path}-${i}`), `b:${i}:1`);
        if (i >= 0) ms[path].push(t);
      }
    }
    const bare = summary(ms.bare);
    const uncached = summary(ms.uncached);
    const cached = summary(ms.cached);
    const x = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    return {
      name: 'launch-environment',
      jobs,
      trackedFiles,
      bare,
      uncached,
      cached,
      p50VsBare: { uncached: x(uncached.p50Ms, bare.p50Ms), cached: x(cached.p50Ms, bare.p50Ms) },
      p99VsBare: { uncached: x(uncached.p99Ms, bare.p99Ms), cached: x(cached.p99Ms, bare.p99Ms) },
    };
  } finally {
    await rm(repo, { recursive: true, force: true });
    await rm(runs, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const jobs = Math.round(200 * Number(process.env.BENCH_SCALE ?? 1));
  const files = Number(process.env.BENCH_TRACKED_FILES ?? 50);
  console.log(JSON.stringify(await launchEnvironmentBench(jobs, files), null, 2));
}
