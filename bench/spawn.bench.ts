import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch } from '../src/node-agent/supervisor/index.js';
import { paired, pipelined, rate } from './support.js';

const IN_FLIGHT = 16;

/** Raw ceiling: bare `child_process.spawn('true')`, no stdio, reaped on 'exit'. */
export function rawSpawn(count: number): Promise<number> {
  return rate(count, () =>
    pipelined(count, IN_FLIGHT, async () => {
      const child = spawn('true', { stdio: 'ignore' });
      await new Promise((resolve, reject) => child.once('exit', resolve).once('error', reject));
    }),
  );
}

/**
 * Drover's path: `launch` of `true` (run dir, preflight, log files, the `sh` wrapper in its
 * own group, status file) until `done`; sampling is set far apart so it does not dominate.
 */
export async function droverSpawn(count: number, root: string): Promise<number> {
  const tag = `${Date.now()}`;
  return rate(count, () =>
    pipelined(count, IN_FLIGHT, async (i) => {
      const runDir = join(root, `${tag}-${i}`);
      const s = await launch(
        { workerId: `b:${i}:1`, command: ['true'], env: {}, memLimitMb: 64, runDir },
        {},
        { sampleMs: 60_000 },
      );
      const o = await s.done;
      if (o.cause !== 'Succeeded') throw new Error(`bench launch failed: ${o.message}`);
    }),
  );
}

/**
 * Paired runs, raw then Drover; the ratio is the median of the pairs' ratios. Run dirs go
 * under `base` (default the OS temp dir; BENCH_RUN_ROOT picks another disk, e.g. /dev/shm):
 * Drover creates a directory and three files per launch, which raw spawn does not.
 */
export async function spawnBench(runs: number, count: number, base = tmpdir()) {
  const root = await mkdtemp(join(base, 'drover-spawn-bench-'));
  try {
    await droverSpawn(50, root); // warm-up: getconf, module paths, the JIT
    const r = await paired(
      runs,
      () => rawSpawn(count),
      () => droverSpawn(count, root),
    );
    return {
      name: 'spawn',
      runRoot: base,
      inFlight: IN_FLIGHT,
      processes: count,
      drover: { perSec: r.ours },
      raw: { perSec: r.raw },
      ratio: r.ratio,
      range: r.range,
      goalWithin2xOfRaw: r.ratio >= 0.5,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const count = Math.round(500 * Number(process.env.BENCH_SCALE ?? 1));
  const base = process.env.BENCH_RUN_ROOT ?? tmpdir();
  console.log(JSON.stringify(await spawnBench(runs, count, base), null, 2));
}
