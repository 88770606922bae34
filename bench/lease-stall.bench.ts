import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import buildCli from '../test/support/build-cli.js';
import { roundsWindow, startLeaseFarm, takeoverWindow } from '../test/support/lease-farm.js';
import { ratio } from './support.js';

/**
 * `npm run bench:lease-stall` (issue 23): the leader's longest event-loop stall, against the
 * lease's timer (renewed every TTL/3, writes paused past 2/3 TTL, taken over past the TTL: at the
 * chaos run's 1.5 s, a stall of about a second pauses writing and one of 1.5 s loses the lease).
 * Real `drover scheduler` processes (compiled CLI, dist/), hollow nodes in a process of their
 * own, a fresh nats-server per part; stalls are scraped from each scheduler's /metrics
 * (`nodejs_eventloop_lag_max_seconds`, a 10 ms timer's longest delay). The same-run reference
 * is a standby of the same farm over the same window: an idle process on the same loaded machine.
 *
 * - `rounds`: QUEUES (default `10000,100000`) one-chunk jobs queued against 4 nodes of 4 cpus
 *   whose workers end after 1 s, so rounds over the whole queue keep coming; a 30 s window.
 * - `takeover`: TAKEOVER_JOBS (default 10,000) jobs all running on hollow nodes, then kill -9 of
 *   the leader; one of two standbys takes over (catch-up, sweep, rounds), watched for 20 s.
 *
 * Prints one JSON document; BENCH_ONLY picks parts, BENCH_OUT writes it to a file too.
 */
const ONLY = (process.env.BENCH_ONLY ?? 'rounds,takeover').split(',');
const QUEUES = (process.env.QUEUES ?? '10000,100000').split(',').map(Number);
const TAKEOVER_JOBS = Number(process.env.TAKEOVER_JOBS ?? 10_000);
const TTL_MS = Number(process.env.LEASE_TTL_MS ?? 1_500);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

/** The leader's longest stall against the idle standby's (the same machine's noise) and the TTL. */
function stallRatios(w: { leaderStallMs: number; standbyStallMs: number }) {
  return {
    stallVsStandby: ratio(w.leaderStallMs, Math.max(1, w.standbyStallMs)),
    stallVsTtl: ratio(w.leaderStallMs, TTL_MS),
  };
}

async function rounds(jobs: number) {
  const loadBefore = load();
  const f = await startLeaseFarm({
    jobs,
    nodes: 4,
    nodeCpus: 4,
    durationMs: 1_000,
    contenders: 2,
    leaseTtlMs: TTL_MS,
  });
  try {
    const w = await roundsWindow(f, 30_000);
    return {
      jobs,
      seedS: Math.round(f.seedS),
      ...w,
      ...stallRatios(w),
      epochChanges: w.epochsAfter.length - w.epochsBefore.length,
      load: [loadBefore, load()],
    };
  } finally {
    await f.stop();
  }
}

async function takeover() {
  const loadBefore = load();
  const jobs = TAKEOVER_JOBS;
  const nodes = 10;
  const f = await startLeaseFarm({
    jobs,
    nodes,
    nodeCpus: Math.ceil(jobs / nodes) + 10,
    durationMs: 3_600_000,
    contenders: 3,
    leaseTtlMs: TTL_MS,
  });
  try {
    const w = await takeoverWindow(f, 20_000);
    return {
      jobs,
      seedS: Math.round(f.seedS),
      ...w,
      ...stallRatios(w),
      // One new epoch is the takeover; any more is a leader that lost the lease again.
      epochChanges: w.epochsAfter.filter((e) => e > Math.max(0, ...w.epochsBefore)).length,
      load: [loadBefore, load()],
    };
  } finally {
    await f.stop();
  }
}

buildCli(); // the schedulers run the compiled CLI: dist/ as of src/
const result: Record<string, unknown> = {
  at: new Date().toISOString(),
  node: process.version,
  leaseTtlMs: TTL_MS,
};
if (ONLY.includes('rounds')) {
  const out = [];
  for (const jobs of QUEUES) {
    out.push(await rounds(jobs));
    console.error(JSON.stringify(out.at(-1))); // each part as it ends: a long run may be cut
  }
  result.rounds = out;
}
if (ONLY.includes('takeover')) {
  result.takeover = await takeover();
  console.error(JSON.stringify(result.takeover));
}
const json = JSON.stringify(result, null, 2);
console.log(json);
if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, json + '\n');
