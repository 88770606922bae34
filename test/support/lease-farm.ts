import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedQueuedJobs, startBenchServer, type BenchServer } from './bench-farm.js';
import { spawnHollowProcess, type HollowProcess } from './bench-hollow.js';
import {
  StallProbe,
  allEpochs,
  leader,
  scrape,
  spawnContender,
  type Contender,
} from './lease-contenders.js';

/**
 * A farm to see whether the leader keeps its lease under a big queue (issue 23): a fresh server
 * with `jobs` one-chunk jobs queued in the log (by `seedQueuedJobs`), hollow nodes in a process of
 * their own, and `contenders` real `drover scheduler` processes racing for a lease of
 * `leaseTtlMs`, each scraped for its event-loop stalls.
 */
export interface LeaseFarmOptions {
  readonly jobs: number;
  readonly nodes: number;
  readonly nodeCpus: number;
  /** How long each hollow worker runs (short: rounds keep coming; long: the jobs stay live). */
  readonly durationMs: number;
  readonly contenders: number;
  readonly leaseTtlMs: number;
}

export interface LeaseFarm {
  readonly bench: BenchServer;
  readonly hollow: HollowProcess;
  readonly contenders: readonly Contender[];
  readonly probes: ReadonlyMap<Contender, StallProbe>;
  /** Seconds the seeding took. */
  readonly seedS: number;
  stop(): Promise<void>;
}

export async function startLeaseFarm(o: LeaseFarmOptions): Promise<LeaseFarm> {
  const bench = await startBenchServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-lease-farm-'));
  const t0 = Date.now();
  await seedQueuedJobs(bench.log, { jobs: o.jobs, chunks: 1, users: 20, cpus: 1, memMb: 64 });
  const seedS = (Date.now() - t0) / 1000;
  const hollow = await spawnHollowProcess({
    url: bench.server.url,
    prefix: 'hollow',
    count: o.nodes,
    cpus: o.nodeCpus,
    memMb: o.nodeCpus * 1024,
    durationMs: o.durationMs,
    expect: o.jobs,
  });
  const env = { natsUrl: bench.server.url, dataDir, leaseTtlMs: o.leaseTtlMs };
  const contenders = Array.from({ length: o.contenders }, (_, i) =>
    spawnContender(`sched-${String.fromCharCode(97 + i)}`, env),
  );
  const probes = new Map<Contender, StallProbe>();
  for (const c of contenders) probes.set(c, new StallProbe(await c.metricsUrl()));
  return {
    bench,
    hollow,
    contenders,
    probes,
    seedS,
    async stop() {
      await Promise.all([...probes.values()].map((p) => p.stop()));
      await Promise.all(contenders.map((c) => c.proc.stop()));
      await hollow.stop();
      await bench.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** What a leader's metrics count: rounds planned, seconds spent planning, placements appended. */
async function counters(c: Contender) {
  const url = await c.metricsUrl();
  return {
    rounds: (await scrape(url, 'drover_scheduler_round_duration_seconds_count')) ?? 0,
    roundS: (await scrape(url, 'drover_scheduler_round_duration_seconds_sum')) ?? 0,
    placements: (await scrape(url, 'drover_scheduler_placements_total')) ?? 0,
  };
}

/**
 * Rounds over the queue: from the moment one contender leads, `windowMs` of its rounds (the
 * hollow workers end and free room, so rounds keep coming). The standby's stall over the same
 * window is the same-run reference: what the machine's load alone does to an idle process.
 */
export async function roundsWindow(f: LeaseFarm, windowMs: number) {
  const lead = await leader(f.contenders);
  const from = Date.now();
  const before = await counters(lead);
  const epochsBefore = allEpochs(f.contenders);
  await sleep(windowMs);
  const to = Date.now();
  const after = await counters(lead);
  const others = f.contenders.filter((c) => c !== lead);
  return {
    leaderStallMs: f.probes.get(lead)!.longest(from, to),
    standbyStallMs: Math.max(...others.map((c) => f.probes.get(c)!.longest(from, to))),
    epochsBefore,
    epochsAfter: allEpochs(f.contenders),
    rounds: after.rounds - before.rounds,
    roundS: Math.round((after.roundS - before.roundS) * 100) / 100,
    placements: after.placements - before.placements,
  };
}

/**
 * A takeover with every job live: once the hollow nodes took all `jobs` launches, kill -9 the
 * leader; a standby takes over (catch-up, then the sweep of every open job, the relaunch check
 * and rounds) and is watched for `windowMs` after it leads. The other standby is the reference.
 */
export async function takeoverWindow(f: LeaseFarm, windowMs: number) {
  const first = await leader(f.contenders);
  await f.hollow.launched;
  await sleep(2_000);
  const epochsBefore = allEpochs(f.contenders);
  const killedAt = Date.now();
  await first.proc.kill9();
  const rest = f.contenders.filter((c) => c !== first);
  const next = await leader(rest, Math.max(0, ...epochsBefore));
  const ledAt = Date.now();
  await sleep(windowMs);
  const to = Date.now();
  const others = rest.filter((c) => c !== next);
  return {
    takeoverMs: ledAt - killedAt,
    catchUpStallMs: f.probes.get(next)!.longest(killedAt, ledAt),
    leaderStallMs: f.probes.get(next)!.longest(ledAt, to),
    standbyStallMs: Math.max(0, ...others.map((c) => f.probes.get(c)!.longest(killedAt, to))),
    epochsBefore,
    epochsAfter: allEpochs(rest),
  };
}
