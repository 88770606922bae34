import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  seedQueuedJobs,
  startBenchServer,
  until,
  type BenchServer,
} from '../test/support/bench-farm.js';
import { spawnDrover, type DroverProcess } from '../test/support/drover-process.js';

/**
 * The `memory` part of `npm run bench:throughput` (issue 22 point 5): the scheduler's RSS and
 * heap with N queued one-chunk jobs against an empty farm, beside an empty farm's in the same
 * run. Sampled in a settled state, not at a moment that depends on the load (the earlier bench
 * waited for 5 s without an append, which under load came before the first round's 100,000 notes
 * began): the scheduler's own metrics page (`--metrics-port 0`) says when it has folded the log
 * (tail lag 0) and planned a round with reasons over every job (the queue gauge sums to N), the
 * log holds one note per job, no note waits or is in flight (the backlog gauge, where the build
 * has it) and the log has been quiet for 5 s. Then RSS (/proc) and used heap
 * (`nodejs_heap_size_used_bytes`) are sampled once a second for BENCH_MEM_WINDOW_S (default 65 s:
 * one quiet refresh round, once a minute, falls inside) and reported as median, min and max; the
 * goal is judged on the median. Knobs:
 * - BENCH_DROVER_MAIN: another compiled CLI (`dist/cli/main.js` of an older build) to compare.
 * - BENCH_HEAP_DIR: after the window, a heap snapshot of each scheduler (SIGUSR2) is written
 *   there, for `bench/heap-diff.ts` (by constructor: what a pending job costs).
 */
const WINDOW_S = Number(process.env.BENCH_MEM_WINDOW_S ?? 65);
const MAIN = process.env.BENCH_DROVER_MAIN;
const HEAP_DIR = process.env.BENCH_HEAP_DIR;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Resident memory of a process from /proc (KiB), the kernel's figure, not the process's own. */
async function rssKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** A Prometheus text page as metric name → sum of its series (labels summed away). */
export function sumsOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (name && Number.isFinite(value)) out.set(name, (out.get(name) ?? 0) + value);
  }
  return out;
}

/** The page's sums; empty when it did not answer 200 (a busy scheduler's page may answer 500). */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  return res.ok ? sumsOf(await res.text()) : new Map();
}

/** The metrics URL a `drover scheduler --json --metrics-port 0` printed when it came to lead. */
function metricsUrl(p: DroverProcess): string | undefined {
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const doc = JSON.parse(line) as { metrics?: string };
      if (doc.metrics) return doc.metrics;
    } catch {
      // a log line that happens to start with a brace: not the start document
    }
  }
  return undefined;
}

/**
 * Resolves once the scheduler is settled on `pending` queued jobs: leading, tail lag 0, the last
 * round with reasons saw all of them, every job's note is in the log (one `job.pending_noted`
 * each after the seeded events: a round whose notes were skipped while the lease paused writes
 * offers them again only at the next refresh), no note waiting or in flight (when the build
 * reports it), and the log has taken no append for `quietMs`. Returns the seconds it took.
 */
async function settled(
  s: BenchServer,
  url: string,
  pending: number,
  seededSeq: number,
  quietMs = 5_000,
) {
  const from = performance.now();
  let last = await s.log.lastSeq();
  let quiet = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await s.log.lastSeq();
    quiet = now === last ? quiet + 500 : 0;
    last = now;
    const m = await scrape(url);
    const done =
      now - seededSeq >= pending &&
      m.get('drover_scheduler_leader') === 1 &&
      m.get('drover_scheduler_tail_lag_events') === 0 &&
      (m.get('drover_scheduler_queue_jobs') ?? 0) === pending &&
      (m.get('drover_scheduler_pending_notes_backlog') ?? 0) === 0 &&
      quiet >= quietMs;
    if (done) return round((performance.now() - from) / 1000);
    if (performance.now() - from > 1_800_000) throw new Error('bench: scheduler never settled');
  }
}

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(xs: number[]): Spread {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** RSS (KiB) and used heap (KiB) once a second for `seconds`. */
async function sample(pid: number, url: string, seconds: number) {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < seconds; i++) {
    rss.push(await rssKib(pid));
    const used = (await scrape(url)).get('nodejs_heap_size_used_bytes');
    if (used !== undefined) heap.push(Math.round(used / 1024));
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return { rssKib: spread(rss), heapUsedKib: spread(heap) };
}

/** A heap snapshot of `p` into `dir` (SIGUSR2); resolves when the file stops growing. */
async function heapSnapshot(p: DroverProcess, dir: string): Promise<string | undefined> {
  p.child.kill('SIGUSR2');
  let size = -1;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 2_000));
    const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot'));
    if (!file) continue;
    const now = (await stat(join(dir, file))).size;
    if (now === size && now > 0) return join(dir, file);
    size = now;
  }
  return undefined;
}

/** RSS of an API process once it stops moving (five samples a second apart within 2%). */
async function settledRss(pid: number): Promise<number> {
  let last = await rssKib(pid);
  for (let stable = 0, i = 0; stable < 5 && i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await rssKib(pid);
    stable = Math.abs(now - last) <= last * 0.02 ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Scheduler (and API) memory on a farm of `pending` queued one-chunk jobs and no nodes. */
async function farm(pending: number, label: string) {
  const s = await startBenchServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-bench-mem-'));
  const heapDir = HEAP_DIR && join(HEAP_DIR, label);
  if (heapDir) await mkdir(heapDir, { recursive: true });
  const nodeArgs = heapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] : [];
  const load = [round(loadavg()[0] ?? NaN)];
  try {
    const seedFrom = performance.now();
    if (pending > 0)
      await seedQueuedJobs(s.log, {
        jobs: pending,
        chunks: 1,
        users: 50,
        cpus: 1,
        memMb: 256,
        window: 64,
      });
    const seededS = round((performance.now() - seedFrom) / 1000);
    const seededSeq = await s.log.lastSeq();
    const env = { DROVER_NATS_URL: s.server.url, DROVER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    const spawnedAt = performance.now();
    const args = ['scheduler', '--no-api', '--metrics-port', '0', '--json'];
    const scheduler = spawnDrover(args, env, nodeArgs, MAIN);
    const apiProc = spawnDrover(['api', '--json'], env, [], MAIN);
    try {
      // Both fold the whole log before they print: 100,000 jobs on a loaded machine took >600 s.
      await until(
        () => metricsUrl(scheduler) !== undefined && apiProc.output().includes('{'),
        1_800_000,
        20,
      );
      const readyS = round((performance.now() - spawnedAt) / 1000);
      const url = metricsUrl(scheduler)!;
      const settledS = await settled(s, url, pending, seededSeq);
      load.push(round(loadavg()[0] ?? NaN));
      const [sched, apiKib] = await Promise.all([
        sample(scheduler.child.pid!, url, WINDOW_S),
        settledRss(apiProc.child.pid!),
      ]);
      load.push(round(loadavg()[0] ?? NaN));
      const snapshot = heapDir ? await heapSnapshot(scheduler, heapDir) : undefined;
      return { ...sched, apiKib, seededS, readyS, settledS, load, ...(snapshot && { snapshot }) };
    } finally {
      await scheduler.stop();
      await apiProc.stop();
    }
  } finally {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Bytes per pending job of a median (or min, max) against the empty farm's median. */
function perJob(full: Spread, empty: Spread, pending: number) {
  const per = (kib: number) => round(((kib - empty.median) * 1024) / pending, 0);
  return { median: per(full.median), min: per(full.min), max: per(full.max) };
}

export async function pendingMemory(scale: number) {
  const pending = Math.max(1_000, Math.round(100_000 * scale));
  const empty = await farm(0, 'empty');
  const full = await farm(pending, 'pending');
  const rss = perJob(full.rssKib, empty.rssKib, pending);
  return {
    pendingJobs: pending,
    build: MAIN ?? 'dist',
    windowS: WINDOW_S,
    emptyFarm: empty,
    withPending: full,
    schedulerBytesPerPendingJob: rss.median,
    schedulerRssBytesPerPendingJob: rss,
    schedulerHeapBytesPerPendingJob: perJob(full.heapUsedKib, empty.heapUsedKib, pending),
    apiBytesPerPendingJob: round(((full.apiKib - empty.apiKib) * 1024) / pending, 0),
    goalBytesPerJob: 2048,
    goalMet: rss.median <= 2048,
  };
}
