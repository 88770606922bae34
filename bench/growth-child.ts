import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { createEntityRuntime } from '../src/actors/index.js';
import { startLiveModel } from '../src/api/live-model.jetstream.js';
import {
  EVENTS_STREAM,
  createJetStreamEventLog,
  isCorrupt,
  parseEventSubject,
} from '../src/events/index.js';
import { readBatches } from '../src/events/reader.jetstream.js';
import {
  allProjections,
  createKvProjectionStore,
  createProjectionRunner,
} from '../src/projections/index.js';
import { observeEvent } from '../src/scheduler/entity-view.js';

/**
 * One start-up of one service's fold, in a process of its own (its RSS is its own): `raw` reads
 * the live stream, `scheduler` is the scheduler's catch-up (every entity into its runtime's
 * cache), `api` the API's live read model, `projections` the projection runner from zero (the
 * archive merged in) or from its checkpoints. Prints one JSON line: ms, rssMb, heapMb, events.
 */
const { url, what, bucket } = JSON.parse(process.env.GROWTH_CHILD ?? '{}') as {
  url: string;
  what: 'raw' | 'scheduler' | 'api' | 'projections' | 'checkpoint';
  bucket?: string;
};
const nc = await connect({ servers: url });
const log = await createJetStreamEventLog(nc);
const logger = pino({ level: 'silent' });
const t0 = performance.now();
let events = 0;
let stop: () => Promise<void> = async () => {};
if (what === 'raw') {
  const jsm = await jetstreamManager(nc);
  const last = await log.lastSeq();
  for await (const b of readBatches(nc, jsm, EVENTS_STREAM, { untilSeq: last })) events += b.length;
} else if (what === 'scheduler') {
  // The scheduler's catch-up (`followLog`): every event into its entity's machine in the
  // runtime's cache, the live log only. Generated histories are plausible, not always legal: an
  // event a machine refuses is counted and skipped here (the scheduler would log it).
  const runtime = createEntityRuntime({ eventLog: log, cache: true });
  const last = await log.lastSeq();
  const tail = log.tail({ fromSeq: 1 });
  let refused = 0;
  for await (const item of tail) {
    if (!isCorrupt(item)) {
      const where = parseEventSubject(item.recorded.subject);
      try {
        if (where) observeEvent(runtime, where.entity, where.id, item);
      } catch {
        refused++;
      }
      events++;
    }
    if ((isCorrupt(item) ? item.seq : item.recorded.seq) >= last) break;
  }
  if (refused > events / 2) throw new Error(`the scheduler's fold refused ${refused} of ${events}`);
} else if (what === 'api') {
  const m = await startLiveModel(nc, log, logger);
  events = m.model.jobs.size;
  stop = () => m.stop();
} else {
  const store = await createKvProjectionStore(nc, { bucket: bucket ?? 'growth' });
  const r = createProjectionRunner({ log, projections: allProjections(), store });
  await r.start(what === 'projections' ? { fromZero: true } : {});
  if (what === 'projections') await r.checkpoint();
  events = r.events;
  stop = () => r.stop();
}
const ms = Math.round(performance.now() - t0);
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
const mb = (b: number) => Math.round(b / 1048576);
console.log(JSON.stringify({ ms, rssMb: mb(mem.rss), heapMb: mb(mem.heapUsed), events }));
await stop();
await log.close();
await nc.close();
