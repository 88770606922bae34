import pino from 'pino';
import type { ChunkSnapshot, JobSnapshot } from '../src/actors/index.js';
import { defaultFairShareConfig } from '../src/policy/index.js';
import { FarmIndex } from '../src/scheduler/farm-index.js';
import type { NoteOffer } from '../src/scheduler/pending-notes.js';
import { PlacementLoop } from '../src/scheduler/placement-loop.service.js';
import type { Action, Peek, RuleContext } from '../src/scheduler/rules.js';
import { noSchedulerMetrics, queueDepth } from '../src/scheduler/scheduler-metrics.js';

/**
 * `node --expose-gc --max-semi-space-size=1024 --min-semi-space-size=1024 --import tsx
 * bench/round-memory.ts [jobs]` (issue 22 point 5): what one placement round over N queued
 * one-chunk jobs (50 users, no nodes) allocates, in process, the scheduler's own code from the
 * index to the notes: the first round (every job's note new) and a refresh round (notes
 * unchanged, none written: what the quiet queue does once a minute at 100,000 jobs and what its
 * RSS kept). With a young generation larger than a round allocates, no collection runs inside
 * the round, so heap used after minus before is what it allocated; `backlogBytesPerJob` is what
 * stays live after it (its offered notes, before the writer builds them). Prints JSON; the ratio is
 * against the same run's floor: the bytes the round's input (jobs, chunks, index) holds per job.
 */
const N = Number(process.argv[2] ?? 100_000);
const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    throw new Error('run with --expose-gc');
  });
const used = () => process.memoryUsage().heapUsed;

const jobs = new Map<string, JobSnapshot>();
const chunks = new Map<string, ChunkSnapshot>();
const index = new FarmIndex(3600);
const peek = {
  job: (id: string) => jobs.get(id),
  chunk: (id: string) => chunks.get(id),
  node: () => undefined,
  worker: () => undefined,
} as unknown as Peek;

const specOf = (user: string) => ({
  user,
  pool: 'default',
  command: ['true'],
  env: {},
  after: [],
  labels: {},
  excludeNodes: [],
  chunks: 1,
  cpus: 1,
  memMb: 256,
  gpus: 0,
});
const specs = Array.from({ length: 50 }, (_, u) => specOf(`user${u}`));
gc();
const empty = used();
for (let i = 0; i < N; i++) {
  const id = `job-${String(i).padStart(8, '0')}`;
  const job = {
    value: 'queued',
    context: { spec: specs[i % 50], priority: 0, createdAt: 1_000 + i },
  } as unknown as JobSnapshot;
  jobs.set(id, job);
  index.job(id, job, i + 1);
  const chunk = {
    value: 'pending',
    context: { jobId: id, index: 0, attempt: 0, attempts: [] },
  } as unknown as ChunkSnapshot;
  chunks.set(`${id}:0`, chunk);
  index.chunk(`${id}:0`, chunk);
}
gc();
const floorBytes = used() - empty;

let now = 100_000;
let backlog: NoteOffer[] = [];
const run = (offers: NoteOffer[]) => void backlog.push(...offers);
/** The notes written: each offered note built in turn and folded (as the writer does). */
const drain = () => {
  const offers = backlog;
  backlog = [];
  for (const offer of offers) {
    const a: Action | undefined = offer.action();
    if (a?.entity !== 'job' || a.command.type !== 'NotePending') continue;
    // Folded as the job fold does: the reasons kept, the ahead list not.
    const job = jobs.get(a.id)!;
    const { reasons, queueLength, rank } = a.command.data;
    jobs.set(a.id, {
      ...job,
      context: { ...job.context, pending: { reasons, queueLength, rank } },
    } as unknown as JobSnapshot);
  }
};
const loop = new PlacementLoop({
  ...{ peek, index, config: defaultFairShareConfig, clock: () => now, canWrite: () => true },
  context: () => ({ peek, now }) as unknown as RuleContext,
  run,
  assign: () => undefined,
  // The scheduler's own metrics work per round with reasons: the queue-depth gauge.
  metrics: {
    ...noSchedulerMetrics,
    round: (_s, pending, jobOf) => void (pending && queueDepth(pending, jobOf)),
  },
  logger: pino({ level: 'silent' }),
  turnBudgetMs: Infinity, // one round, measured whole within round()
});

function measure(label: string) {
  gc();
  const before = used();
  const t0 = performance.now();
  loop.request();
  loop.round();
  const ms = performance.now() - t0;
  const allocated = used() - before;
  gc();
  // What the round leaves for the writer: its offered notes, waiting for their turn.
  const kept = used() - before;
  const offered = backlog.length;
  drain();
  return {
    round: label,
    notes: offered,
    ms: Math.round(ms),
    allocatedBytesPerJob: Math.round(allocated / N),
    backlogBytesPerJob: Math.round(kept / N),
    allocatedVsFloor: Math.round((allocated / floorBytes) * 100) / 100,
  };
}

loop.start();
now += 1_000;
const first = measure('first (all notes new)');
now += 60_000;
const refresh = measure('refresh (no note new)');
console.log(
  JSON.stringify(
    { jobs: N, floorBytesPerJob: Math.round(floorBytes / N), rounds: [first, refresh] },
    null,
    2,
  ),
);
