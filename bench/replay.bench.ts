import { AckPolicy, type JetStreamManager, jetstream, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { unpack } from 'msgpackr';
import { randomUUID } from 'node:crypto';
import {
  chunkMachine,
  compileFold,
  jobMachine,
  nodeMachine,
  workerMachine,
  type CompiledFold,
  type PlainSnapshot,
} from '../src/actors/index.js';
import {
  EVENTS_STREAM,
  eventWildcard,
  isCorrupt,
  entityOfSubject,
  type EventLog,
} from '../src/events/index.js';
import { ev, jobSpec } from '../test/support/events.js';
import { pipelined, rate } from './support.js';

/** Append `count` events as valid job lifecycles (submitted, queued, started, settled, succeeded). */
export async function seedHistory(
  log: EventLog,
  count: number,
): Promise<{ fromSeq: number; events: number }> {
  const fromSeq = (await log.lastSeq()) + 1;
  const tag = randomUUID().slice(0, 8);
  const jobs = Math.ceil(count / 5);
  await pipelined(jobs, 512, async (j) => {
    const id = `r${tag}${j}`;
    const r = await log.append(
      'job',
      id,
      [
        ev('job.submitted', jobSpec()),
        ev('job.queued', {}),
        ev('job.started', {}),
        ev('job.chunks_settled', { chunks: [{ index: 0, state: 'succeeded', quiescent: true }] }),
        ev('job.succeeded', {}),
      ],
      { expectedSeq: 0 },
    );
    if (!r.ok) throw new Error('seed conflict');
  });
  return { fromSeq, events: jobs * 5 };
}

/** Raw ceiling: the library's ephemeral pull consumer, no acks, fetch loop, msgpack decode only. */
export async function rawReadDecode(
  nc: NatsConnection,
  jsm: JetStreamManager,
  fromSeq: number,
  events: number,
): Promise<number> {
  const info = await jsm.consumers.add(EVENTS_STREAM, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
    filter_subject: eventWildcard(),
    mem_storage: true,
  });
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, info.name);
  let got = 0;
  const r = await rate(events, async () => {
    while (got < events) {
      const batch = await consumer.fetch({ max_messages: 10_000, expires: 2_000 });
      for await (const m of batch) {
        unpack(m.data);
        got++;
      }
    }
  });
  await jsm.consumers.delete(EVENTS_STREAM, info.name);
  return r;
}

/** Each entity's machine, compiled for folding (same states, guards and assigns as xstate's). */
const folds = {
  job: compileFold(jobMachine),
  chunk: compileFold(chunkMachine),
  worker: compileFold(workerMachine),
  node: compileFold(nodeMachine),
} as Record<string, CompiledFold<unknown>>;

/**
 * Drover: replay batches, decode + validate + upcast, and fold every event through its entity's
 * machine into a state per subject (what a projection rebuild does).
 */
export async function replayFolded(
  log: EventLog,
  fromSeq: number,
  events: number,
): Promise<number> {
  let got = 0;
  const states = new Map<string, PlainSnapshot<unknown>>();
  const r = await rate(events, async () => {
    for await (const batch of log.replayBatches({ fromSeq, untilSeq: fromSeq + events - 1 })) {
      for (const item of batch) {
        if (isCorrupt(item)) throw item.error;
        const subject = item.recorded.subject;
        const fold = folds[entityOfSubject(subject)!]!;
        states.set(subject, fold.evolve(states.get(subject) ?? fold.initial(), item));
        got++;
      }
    }
  });
  if (got !== events) throw new Error(`replayed ${got} of ${events}`);
  return r;
}
