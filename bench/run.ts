import { jetstreamManager } from '@nats-io/jetstream';
import { writeFile } from 'node:fs/promises';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import {
  decideAndAppendPipelined,
  logPipelined,
  logSequential,
  rawHandRolled,
  rawJsPublish,
} from './append.bench.js';
import { rawReadDecode, replayFolded, seedHistory } from './replay.bench.js';
import { medianOf, paired } from './support.js';

/**
 * `npm run bench`: starts its own nats-server (temp store, random port) and measures, in the
 * same run, Drover's event log next to the raw JetStream ceilings. Raw and Drover runs alternate
 * in pairs and the ratio is the median of the pairs' ratios, so the machine's drift (±40% here)
 * hits both sides alike. Prints one JSON document. Sizes scale with BENCH_SCALE (default 1).
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function main(): Promise<void> {
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  try {
    const n = Math.round(30_000 * scale);
    const seqN = Math.round(3_000 * scale);
    const jsPublish = await medianOf(RUNS, () => rawJsPublish(nc, n));
    const pipelined = await paired(
      RUNS,
      () => rawHandRolled(nc, n, 10_000),
      () => logPipelined(log, n),
    );
    const sequential = await medianOf(RUNS, () => logSequential(log, seqN));
    const decideAndAppend = await medianOf(RUNS, () => decideAndAppendPipelined(log, n));
    const jsm = await jetstreamManager(nc);
    const seeded = await seedHistory(log, Math.round(200_000 * scale));
    const replay = await paired(
      RUNS,
      () => rawReadDecode(nc, jsm, seeded.fromSeq, seeded.events),
      () => replayFolded(log, seeded.fromSeq, seeded.events),
    );
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      runs: RUNS,
      append: {
        events: n,
        rawJsPublishPerSec: jsPublish,
        rawHandRolledPerSec: pipelined.raw,
        logPipelinedPerSec: pipelined.ours,
        logSequentialPerSec: sequential,
        decideAndAppendPipelinedPerSec: decideAndAppend,
        pipelinedVsRawHandRolled: pipelined.ratio,
        pipelinedVsRawHandRolledRange: pipelined.range,
      },
      replay: {
        events: seeded.events,
        rawReadDecodePerSec: replay.raw,
        replayFoldedPerSec: replay.ours,
        foldedVsRaw: replay.ratio,
        foldedVsRawRange: replay.range,
      },
      goals: {
        appendWithin2xOfRaw: pipelined.ratio >= 0.5,
        replayWithin2xOfRaw: replay.ratio >= 0.5,
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

await main();
