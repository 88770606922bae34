import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstream } from '@nats-io/jetstream';
import { createApiClient } from '../src/api/index.js';
import type { RecordedEvent } from '../src/events/index.js';
import {
  percentile,
  startBenchServer,
  submitToIntake,
  until,
  watchLog,
  type BenchServer,
} from '../test/support/bench-farm.js';
import { spawnDrover, type DroverProcess } from '../test/support/drover-process.js';
import { pendingMemory } from './pending-memory.js';
import { pipelined, ratio } from './support.js';
import { slotTurnarounds, type AttemptTimes } from './slot-timeline.js';

/**
 * `npm run bench:throughput` (issue 22): throughput on a real farm's shape, each figure beside a
 * same-run reference. Parts (BENCH_ONLY, default all):
 * - `slots`: 2 agents × 4 one-CPU slots against the same agents with room for everything
 *   (unbounded), for N one-CPU `true` jobs and for one job of N chunks: slot-bound / unbounded,
 *   and where a freed slot's time goes until its next process starts (from the log's `at`s).
 *   The slot-bound farm runs with the scheduler plain and pipelining (BENCH_PIPELINE=off,on).
 * - `submit`: one client submitting one job at a time over the API while the 8 slots churn,
 *   against a bare JetStream publish round trip in the same run.
 * - `memory`: the scheduler's RSS and heap (and the API's RSS) with N pending jobs against an
 *   empty farm, sampled once the scheduler has settled (`bench/pending-memory.ts`).
 * Sizes scale with BENCH_SCALE (N = 2,000 jobs, 100,000 pending at scale 1).
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const ONLY = (process.env.BENCH_ONLY ?? 'slots,submit,memory').split(',');
/** The slots part's shapes (BENCH_SHAPES, default both): N one-CPU jobs, one job of N chunks. */
const SHAPES = (process.env.BENCH_SHAPES ?? 'jobs,chunks')
  .split(',')
  .filter((s): s is 'jobs' | 'chunks' => s === 'jobs' || s === 'chunks');
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface SlotFarm extends BenchServer {
  readonly processes: DroverProcess[];
  close(): Promise<void>;
}

/** A server, the scheduler (with its API) and two agents, each a process as deployed. */
async function slotFarm(
  cpusPerAgent: number,
  opts: { agents?: number; apiProcess?: boolean; pipeline?: boolean } = {},
): Promise<SlotFarm> {
  const s = await startBenchServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-bench-slots-'));
  const profile = process.env.BENCH_PROFILE_DIR;
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const env = {
    DROVER_NATS_URL: s.server.url,
    DROVER_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DROVER_PIPELINE: opts.pipeline ? '1' : '0',
  };
  const agents = Array.from({ length: opts.agents ?? 2 }, (_, i) =>
    spawnDrover(
      [
        'agent',
        '--node',
        `node-${i + 1}`,
        '--cpus',
        String(cpusPerAgent),
        '--mem',
        '64G',
        '--json',
      ],
      env,
      nodeArgs,
    ),
  );
  const scheduler = opts.apiProcess
    ? spawnDrover(['scheduler', '--no-api', '--json'], env, nodeArgs)
    : spawnDrover(['scheduler', '--json'], env, nodeArgs);
  const api = opts.apiProcess ? [spawnDrover(['api', '--json'], env, nodeArgs)] : [];
  const processes = [scheduler, ...api, ...agents];
  await Promise.all(
    processes.map((p) =>
      until(() => p.output().includes('{'), 60_000, 20).catch(() => {
        throw new Error(`bench farm did not start:\n${p.output()}`);
      }),
    ),
  );
  return {
    ...s,
    processes,
    async close() {
      for (const p of processes) await p.stop().catch(() => undefined);
      await s.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const oneCpu = (i: number, tag: string, chunks = 1) => ({
  name: `slot-${tag}-${i}`,
  user: `u${i % 4}`,
  command: ['true'],
  cpus: 1,
  memMb: 16,
  chunks,
});

/** Per-attempt times from the log (chunk and worker events), for the slot timeline. */
function collectAttempts(f: SlotFarm, fromSeq: number) {
  const byChunk = new Map<string, AttemptTimes>();
  const chunkOfWorker = new Map<string, string>();
  let ended = 0;
  const get = (chunk: string) => {
    let a = byChunk.get(chunk);
    if (!a) byChunk.set(chunk, (a = { chunk }));
    return a;
  };
  const onChunk = (e: RecordedEvent, id: string) => {
    if (e.type === 'chunk.assigned') {
      const d = e.data as { node: string; worker: string };
      Object.assign(get(id), { node: d.node, assignedAt: e.at });
      chunkOfWorker.set(d.worker, id);
    } else if (e.type === 'chunk.succeeded' || e.type === 'chunk.failed') {
      get(id).endedAt = e.at;
      ended++;
    }
  };
  const onWorker = (e: RecordedEvent, id: string) => {
    const chunk = chunkOfWorker.get(id);
    if (!chunk) return;
    if (e.type === 'worker.launching') get(chunk).launchingAt = e.at;
    else if (e.type === 'worker.started') get(chunk).startedAt = e.at;
    else if (e.type === 'worker.exited') get(chunk).exitedAt = e.at;
  };
  const watchers = [
    watchLog(f.log, fromSeq, 'chunk', onChunk),
    watchLog(f.log, fromSeq, 'worker', onWorker),
  ];
  return {
    ended: () => ended,
    attempts: () => [...byChunk.values()],
    stop: () => Promise.all(watchers.map((w) => w.stop())),
  };
}

/** N one-CPU jobs (or one job of N chunks) from the first submit to the last chunk's end. */
async function churn(f: SlotFarm, n: number, shape: 'jobs' | 'chunks', tag: string) {
  const fromSeq = (await f.log.lastSeq()) + 1;
  const seen = collectAttempts(f, fromSeq);
  const t0 = performance.now();
  if (shape === 'jobs')
    await pipelined(n, 256, (i) => submitToIntake(f.nc, oneCpu(i, tag), `${tag}-${i}`));
  else await submitToIntake(f.nc, oneCpu(0, tag, n), `${tag}-one`);
  await until(() => seen.ended() >= n, 900_000, 10);
  const seconds = (performance.now() - t0) / 1000;
  // The last worker events may trail the chunk's end on the tail by a moment.
  await new Promise((r) => setTimeout(r, 300));
  await seen.stop();
  return { perSec: Math.round(n / seconds), attempts: seen.attempts() };
}

/** The slot-bound farm's scheduler modes (BENCH_PIPELINE, default both): `off`, `on`. */
const PIPELINE = (process.env.BENCH_PIPELINE ?? 'off,on')
  .split(',')
  .filter((m): m is 'off' | 'on' => m === 'off' || m === 'on');

/** One farm of `cpusPerAgent` per agent: a warm-up of 20 jobs, then the measured churn. */
async function churnOn(cpusPerAgent: number, n: number, shape: 'jobs' | 'chunks', tag: string) {
  const f = await slotFarm(cpusPerAgent, { pipeline: tag.includes('pipelined') });
  try {
    await churn(f, 20, 'jobs', `warm-${tag}`);
    return await churn(f, n, shape, tag);
  } finally {
    await f.close();
  }
}

async function slots() {
  const n = Math.max(50, Math.round(2_000 * scale));
  const out: Record<string, unknown> = { jobs: n, slotsPerAgent: 4, agents: 2 };
  for (const shape of SHAPES) {
    // The slot-bound farm without and with pipelining, then unbounded, one after the other.
    const bound: Record<string, Awaited<ReturnType<typeof churn>>> = {};
    for (const mode of PIPELINE)
      bound[mode] = await churnOn(4, n, shape, `bound-${mode === 'on' ? 'pipelined' : 'plain'}`);
    const openRun = await churnOn(Math.max(64, n), n, shape, `open-${shape}`);
    const result: Record<string, unknown> = { unboundedPerSec: openRun.perSec };
    for (const [mode, run] of Object.entries(bound))
      result[mode === 'on' ? 'pipelined' : 'plain'] = {
        slotBoundPerSec: run.perSec,
        slotBoundVsUnbounded: ratio(run.perSec, openRun.perSec),
        goal: 0.8,
        goalMet: ratio(run.perSec, openRun.perSec) >= 0.8,
        exitToNextStartMs: slotTurnarounds(run.attempts, 4),
      };
    out[shape] = result;
  }
  return out;
}

/** Sequential awaited JetStream publishes to a subject no stream keeps... of the intake's size. */
async function bareRoundTrips(f: BenchServer, n: number): Promise<number[]> {
  const js = jetstream(f.nc);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await js.publish(`drover.work.nobody-${i % 10}`, JSON.stringify(oneCpu(i, 'bare')));
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The submit round trip with the API where `drover scheduler` serves it (sharing the leader's
 * event loop) and in a `drover api` process of its own, each on a fresh farm.
 */
async function submitRoundTrip() {
  const where = (process.env.BENCH_API ?? 'scheduler,process').split(',');
  return {
    ...(where.includes('scheduler') && { apiInScheduler: await submitRoundTripOn(false) }),
    ...(where.includes('process') && { apiProcess: await submitRoundTripOn(true) }),
  };
}

async function submitRoundTripOn(apiProcess: boolean) {
  const n = Math.max(50, Math.round(500 * scale));
  const f = await slotFarm(4, { apiProcess });
  try {
    const client = createApiClient(f.nc);
    // Background churn: one job of many chunks keeps the 8 slots turning over.
    await submitToIntake(f.nc, oneCpu(0, 'churn', Math.round(100_000 * scale)), 'churn');
    await new Promise((r) => setTimeout(r, 2_000));
    const samples: { api: number[]; bare: number[] } = { api: [], bare: [] };
    for (let block = 0; block < 5; block++) {
      samples.bare.push(...(await bareRoundTrips(f, Math.ceil(n / 5))));
      for (let i = 0; i < Math.ceil(n / 5); i++) {
        const t = performance.now();
        await client.submit(oneCpu(i, `rt${block}`));
        samples.api.push(performance.now() - t);
      }
    }
    const api = [...samples.api].sort((a, b) => a - b);
    const bare = [...samples.bare].sort((a, b) => a - b);
    const p = (xs: number[], q: number) => round(percentile(xs, q), 2);
    return {
      submits: api.length,
      apiSubmitMs: { p50: p(api, 50), p99: p(api, 99) },
      bareJsPublishMs: { p50: p(bare, 50), p99: p(bare, 99) },
      p50VsBare: ratio(percentile(api, 50), percentile(bare, 50)),
      p99VsBare: ratio(percentile(api, 99), percentile(bare, 99)),
      goal: 3,
      goalMet: ratio(percentile(api, 50), percentile(bare, 50)) <= 3,
    };
  } finally {
    await f.close();
  }
}

const parts: Record<string, () => Promise<unknown>> = {
  slots,
  submit: submitRoundTrip,
  memory: () => pendingMemory(scale),
};

const results: Record<string, unknown> = { scale };
for (const name of ONLY) {
  const part = parts[name];
  if (!part) throw new Error(`unknown part ${name}; one of ${Object.keys(parts).join(', ')}`);
  results[name] = await part();
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
process.exit(0);
