import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { startLiveModel } from '../src/api/live-model.jetstream.js';
import { EVENTS_STREAM, createJetStreamEventLog } from '../src/events/index.js';
import { readBatches } from '../src/events/reader.jetstream.js';
import {
  allProjections,
  createKvProjectionStore,
  createProjectionRunner,
} from '../src/projections/index.js';
import { followLog } from '../src/scheduler/catch-up.service.js';
import { wireLeader } from '../src/scheduler/leader-parts.service.js';
import { defaultFairShareConfig } from '../src/policy/index.js';

/**
 * One start-up of one service's fold, in a process of its own (its RSS is its own): `raw` reads
 * the live stream, `scheduler` is the scheduler's catch-up (`followLog` into its wired parts), `api` the API's live read model, `projections` the projection runner from zero (the
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
  // The scheduler's catch-up as `startScheduler` runs it once it holds the lease: its parts
  // wired (`wireLeader`: the runtime's cache, the farm index, usage), the log followed from its
  // start until caught up. Writes are off (no lease): this measures the fold, not the takeover.
  const parts = wireLeader({
    ...{ nc, eventLog: log, logger, clock: Date.now, config: defaultFairShareConfig },
    by: { kind: 'scheduler', id: 'growth', epoch: 0 },
    canWrite: () => false,
  });
  const userOf = (jobId: string) => parts.peek.job(jobId)?.context.spec?.user;
  const follower = await followLog({
    eventLog: log,
    runtime: parts.runtime,
    changed: parts.changed,
    event: (e) => {
      parts.index.usage(e, userOf);
      parts.launches.note(e, userOf);
      events++;
    },
    logger,
  });
  await follower.caughtUp;
  stop = () => follower.stop();
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
