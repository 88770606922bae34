import { jetstreamManager } from '@nats-io/jetstream';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { EventLog } from '../src/events/index.js';
import {
  allProjections,
  auditPlan,
  checkpointsOf,
  createKvProjectionStore,
  createProjectionRunner,
  createProjectionSet,
  decisionsAt,
  encodeCheckpoint,
  fairshare,
  foldItems,
  throughput,
  usage,
  type AuditState,
  type DecisionsState,
  type FairshareState,
  type ThroughputState,
  type UsageState,
} from '../src/projections/index.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { farmHistory } from '../test/support/projection-history.js';
import { rawReadDecode } from './replay.bench.js';
import { paired, pipelined, rate } from './support.js';

/**
 * `node --max-semi-space-size=32 --import tsx bench/projections.bench.ts`: seeds 1,000,000 ×
 * BENCH_SCALE plausible farm events, then in the same run measures (paired, median of ratios)
 * the raw read + msgpack decode rate against replay + decode + validation + ALL projections
 * folded (goal ≥ 0.6), and the checkpointed start: runner creation to serving every query with
 * checkpoints at the end of the log (goal < 2 s). Prints one JSON document.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Append `count` events of generated histories, pipelined (512 in flight). */
export async function seedFarm(
  log: EventLog,
  count: number,
): Promise<{ fromSeq: number; events: number }> {
  const fromSeq = (await log.lastSeq()) + 1;
  let left = count;
  for (let piece = 0; left > 0; piece++) {
    const entries = farmHistory(piece + 1, {
      jobs: 2_000,
      users: 12,
      names: 20,
      nodes: 40,
      tag: `b${piece}`,
      t0: 1_700_000_000_000 + piece * 2_000 * 2_250,
    }).slice(0, left);
    await pipelined(entries.length, 512, async (i) => {
      const x = entries[i]!;
      const r = await log.append(x.entity, x.id, [x.event]);
      if (!r.ok) throw new Error('seed conflict');
    });
    left -= entries.length;
  }
  return { fromSeq, events: count };
}

/** Drover: replay batches (decode + validate + upcast) and fold every projection. */
export async function foldAll(log: EventLog, fromSeq: number, events: number): Promise<number> {
  const set = createProjectionSet(allProjections());
  const r = await rate(events, async () => {
    for await (const batch of log.replayBatches({ fromSeq, untilSeq: fromSeq + events - 1 })) {
      foldItems(set, batch);
    }
  });
  if (set.events + set.corrupt !== events) throw new Error(`folded ${set.events} of ${events}`);
  return r;
}

function queryAll(r: { state<S>(name: string): S }, now: number): number {
  let n = usage(r.state<UsageState>('usage'), { by: 'name' }).length;
  n += fairshare(r.state<FairshareState>('fairshare'), { now }).length;
  n += auditPlan(r.state<AuditState>('audit'), 'b0j1').seqs.length;
  n += decisionsAt(r.state<DecisionsState>('decisions'), 'b0j1').entries.length;
  n += throughput(r.state<ThroughputState>('throughput'), { by: 'node' }).length;
  return n;
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  try {
    const n = Math.round(1_000_000 * scale);
    const t0 = performance.now();
    const seeded = await seedFarm(log, n);
    const seedS = (performance.now() - t0) / 1000;
    const jsm = await jetstreamManager(nc);
    const fold = await paired(
      RUNS,
      () => rawReadDecode(nc, jsm, seeded.fromSeq, seeded.events),
      () => foldAll(log, seeded.fromSeq, seeded.events),
    );
    // Checkpoints at the end of the log, then: runner creation → every query answered.
    const store = await createKvProjectionStore(nc);
    const builder = createProjectionRunner({ log, projections: allProjections(), store });
    await builder.start({ fromZero: true });
    const s0 = performance.now();
    await builder.checkpoint();
    const saveMs = performance.now() - s0;
    const bytes = Object.fromEntries(
      checkpointsOf(createProjectionSetFrom(builder)).map((c) => [
        c.name,
        encodeCheckpoint(c).length,
      ]),
    );
    const starts: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      const r = createProjectionRunner({ log, projections: allProjections(), store });
      await r.start();
      queryAll(r, Date.now());
      starts.push(performance.now() - s);
      if (r.restored.length !== 5 || r.events !== 0) throw new Error('checkpoints not used');
    }
    const startMs = Math.round([...starts].sort((a, b) => a - b)[Math.floor(starts.length / 2)]!);
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      runs: RUNS,
      events: seeded.events,
      seed: { seconds: Math.round(seedS), perSec: Math.round(seeded.events / seedS) },
      fold: {
        rawReadDecodePerSec: fold.raw,
        allProjectionsPerSec: fold.ours,
        ratio: fold.ratio,
        range: fold.range,
      },
      checkpointedStart: {
        medianMs: startMs,
        runsMs: starts.map(Math.round),
        saveMs: Math.round(saveMs),
        bytes,
      },
      goals: {
        foldAtLeast60PercentOfRaw: fold.ratio >= 0.6,
        checkpointedStartUnder2s: startMs < 2000,
      },
    };
    const json = JSON.stringify(result, null, 2);
    console.log(json);
    if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, json + '\n');
  } finally {
    await log.close();
    await nc.close();
    await server.stop();
  }
}

/** The runner's states as a set, for measuring checkpoint sizes. */
function createProjectionSetFrom(r: { state<S>(name: string): S; seq: number }) {
  const ps = allProjections();
  const set = createProjectionSet(ps);
  set.slots.forEach((slot) => {
    slot.state = r.state(slot.projection.name);
    slot.seq = r.seq;
  });
  return set;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
