import { jetstreamManager } from '@nats-io/jetstream';
import { writeFile } from 'node:fs/promises';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { logPipelined, logSequential, rawHandRolled, rawJsPublish } from './append.bench.js';
import { replayFolded, rawReadDecode, seedHistory } from './replay.bench.js';
import { median, ratio } from './support.js';

/**
 * `npm run bench`: starts its own nats-server (temp store, random port) and measures, in the
 * same run, Drover's event log next to the raw JetStream ceilings. Prints one JSON document.
 * Sizes scale with BENCH_SCALE (default 1).
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function main(): Promise<void> {
  const server = await startNatsServer();
  const { nc, log } = await openEventLog(server);
  try {
    const n = Math.round(30_000 * scale);
    const seqN = Math.round(3_000 * scale);
    const append = {
      rawJsPublishPerSec: await median(RUNS, () => rawJsPublish(nc, n)),
      rawHandRolledPerSec: await median(RUNS, () => rawHandRolled(nc, n, 10_000)),
      logPipelinedPerSec: await median(RUNS, () => logPipelined(log, n)),
      logSequentialPerSec: await median(RUNS, () => logSequential(log, seqN)),
    };
    const jsm = await jetstreamManager(nc);
    const seeded = await seedHistory(log, Math.round(200_000 * scale));
    const replay = {
      events: seeded.events,
      rawReadDecodePerSec: await median(RUNS, () => rawReadDecode(nc, jsm, seeded.fromSeq, seeded.events)),
      replayFoldedPerSec: await median(RUNS, () => replayFolded(log, seeded.fromSeq, seeded.events)),
    };
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      append: {
        ...append,
        pipelinedVsRawHandRolled: ratio(append.logPipelinedPerSec, append.rawHandRolledPerSec),
        pipelinedVsRawJsPublish: ratio(append.logPipelinedPerSec, append.rawJsPublishPerSec),
      },
      replay: { ...replay, foldedVsRaw: ratio(replay.replayFoldedPerSec, replay.rawReadDecodePerSec) },
      goals: {
        appendWithin2xOfRaw: append.logPipelinedPerSec * 2 >= append.rawHandRolledPerSec,
        replayWithin2xOfRaw: replay.replayFoldedPerSec * 2 >= replay.rawReadDecodePerSec,
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
