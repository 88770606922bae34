import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../src/actors/index.js';
import { defaultFairShareConfig } from '../src/policy/index.js';
import { FarmIndex } from '../src/scheduler/farm-index.js';
import { planRound, planRoundSteps } from '../src/scheduler/placement-round.js';
import type { Peek } from '../src/scheduler/rules.js';
import { runInTurns } from '../src/scheduler/turns.service.js';

/**
 * `node --import tsx bench/round-stall.ts [N]` (issue 23): one process, N one-chunk jobs of 50
 * users queued against 4 full nodes. A 10 ms interval timer (what the lease's renewal is) runs
 * throughout; its longest gap is taken while a round with reasons is planned (a) as one
 * synchronous pass (`planRound`, what the loop did) and (b) through `runInTurns` (20 ms slices),
 * alternately, RUNS times each. The same-run reference is the timer's longest gap while the
 * process idles for as long. Prints one JSON document.
 */
const N = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const jobs = new Map<string, JobSnapshot>();
const chunks = new Map<string, ChunkSnapshot>();
const nodes = new Map<string, NodeSnapshot>();
const index = new FarmIndex(3600);
const peek = {
  job: (id: string) => jobs.get(id),
  chunk: (id: string) => chunks.get(id),
  node: (id: string) => nodes.get(id),
  worker: () => undefined,
} as unknown as Peek;
for (let n = 0; n < 4; n++) {
  const id = `node-${n}`;
  nodes.set(id, { value: 'ready', context: { cpus: 0, memMb: 0, gpus: 0, labels: {} } } as never);
  index.node(id, nodes.get(id)!);
}
for (let i = 0; i < N; i++) {
  const id = `job-${i}`;
  const spec = { user: `user${i % 50}`, pool: 'default', after: [], labels: {}, excludeNodes: [] };
  const job = {
    value: 'queued',
    context: { spec: { ...spec, chunks: 1, cpus: 1, memMb: 256, gpus: 0 }, priority: 0 },
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
const input = () => ({
  ...{ peek, index, now: 100_000, config: defaultFairShareConfig, reasons: true },
  ...{ reserved: new Map(), inFlight: new Set<string>() },
});

/** The longest gap of a 10 ms timer (ms) while `work` runs, and how long it took. */
async function gapDuring(work: () => Promise<void> | void) {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const at = performance.now();
    longest = Math.max(longest, at - last);
    last = at;
  }, 10);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 30));
  clearInterval(timer);
  return { gapMs: Math.round(longest), ms: Math.round(ms) };
}

const runs = [];
for (let r = 0; r < RUNS; r++) {
  const sync = await gapDuring(() => void planRound(input()));
  const turns = await gapDuring(async () => {
    const steps = (function* () {
      yield* planRoundSteps(input());
    })();
    await runInTurns(steps);
  });
  const idle = await gapDuring(() => new Promise((res) => setTimeout(res, sync.ms)));
  runs.push({ sync, turns, idle });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    jobs: N,
    runs,
    syncGapMs: median(runs.map((r) => r.sync.gapMs)),
    turnsGapMs: median(runs.map((r) => r.turns.gapMs)),
    idleGapMs: median(runs.map((r) => r.idle.gapMs)),
    syncRoundMs: median(runs.map((r) => r.sync.ms)),
    turnsRoundMs: median(runs.map((r) => r.turns.ms)),
  }),
);
