import { jetstreamManager } from '@nats-io/jetstream';
import { performance } from 'node:perf_hooks';
import { verifyEventLog } from '../src/events/index.js';
import { readBatches } from '../src/events/reader.jetstream.js';
import { ev, jobSpec } from '../test/support/events.js';
import { openEventLog } from '../test/support/nats-client.js';
import { startNatsServer } from '../test/support/nats-server.js';

/**
 * `drover verify` against a raw read of the same stream, in the same run: N events on N/10
 * jobs (10 events each, appended conditionally, as the runtime does). Prints one JSON document.
 */
const N = Number(process.env.VERIFY_EVENTS ?? 100_000);
const server = await startNatsServer();
const { nc, log } = await openEventLog(server);
try {
  const jobs = N / 10;
  const t0 = performance.now();
  for (let base = 0; base < jobs; base += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, jobs - base) }, async (_, i) => {
        const id = `j${base + i}`;
        const events = [
          ev('job.submitted', jobSpec()),
          ...Array.from({ length: 9 }, (_, k) => ev('job.held', { reason: `r${k}` })),
        ];
        const out = await log.append('job', id, events, { expectedSeq: 0 });
        if (!out.ok) throw new Error('conflict');
      }),
    );
  }
  const appendMs = performance.now() - t0;
  const jsm = await jetstreamManager(nc);
  const last = await log.lastSeq();
  const time = async (f: () => Promise<unknown>) => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  const raw = async () => {
    let n = 0;
    for await (const b of readBatches(nc, jsm, 'DROVER_EVENTS', { fromSeq: 1, untilSeq: last }))
      n += b.length;
    if (n !== last) throw new Error(`raw read ${n} of ${last}`);
  };
  const decoded = async () => {
    for await (const _ of log.replayBatches({ fromSeq: 1 }));
  };
  let report: Awaited<ReturnType<typeof verifyEventLog>> | undefined;
  const verify = async () => {
    report = await verifyEventLog(nc);
    if (!report.whole) throw new Error('not whole');
  };
  const rounds: Record<string, number[]> = { raw: [], replayDecoded: [], verify: [] };
  for (let r = 0; r < 3; r++) {
    rounds.raw!.push(await time(raw));
    rounds.replayDecoded!.push(await time(decoded));
    rounds.verify!.push(await time(verify));
  }
  const best = (xs: number[]) => Math.min(...xs);
  const perSec = (ms: number) => Math.round((last / ms) * 1000);
  console.log(
    JSON.stringify({
      events: last,
      appendPerSec: perSec(appendMs),
      rawReadPerSec: perSec(best(rounds.raw!)),
      replayDecodedPerSec: perSec(best(rounds.replayDecoded!)),
      verifyPerSec: perSec(best(rounds.verify!)),
      ms: Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, v.map(Math.round)])),
      subjects: report?.subjects,
    }),
  );
} finally {
  await log.close();
  await nc.close();
  await server.stop();
}
