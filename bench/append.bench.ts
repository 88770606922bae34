import { jetstream } from '@nats-io/jetstream';
import { createInbox, headers, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { jobBehaviour } from '../src/actors/index.js';
import { encodeEvent, eventSubject, type DroverEvent, type EventLog } from '../src/events/index.js';
import { ev, jobSpec } from '../test/support/events.js';
import { pipelined, rate } from './support.js';

const WINDOW = 1024;

/** Raw ceiling 1: the library's `js.publish`, pipelined. */
export async function rawJsPublish(nc: NatsConnection, count: number): Promise<number> {
  const js = jetstream(nc);
  const payload = encodeEvent(ev('job.submitted', jobSpec()));
  const prefix = randomUUID().slice(0, 8);
  return rate(count, () =>
    pipelined(count, WINDOW, (i) =>
      js.publish(eventSubject('job', `raw${prefix}${i}`), payload, { msgID: `${prefix}-${i}` }),
    ),
  );
}

/**
 * Raw ceiling 2 (the one the goal names): core publish with a reply subject and one wildcard ack
 * subscription, 1024 in flight, pre-encoded payload, with the expected-sequence header.
 */
export async function rawHandRolled(
  nc: NatsConnection,
  count: number,
  entities: number,
): Promise<number> {
  const payload = encodeEvent(ev('job.submitted', jobSpec()));
  const prefix = createInbox();
  const tag = randomUUID().slice(0, 8);
  const waiting = new Map<string, () => void>();
  const sub = nc.subscribe(`${prefix}.*`, {
    callback: (_e, m) => {
      const done = waiting.get(m.subject);
      waiting.delete(m.subject);
      JSON.parse(new TextDecoder().decode(m.data));
      done?.();
    },
  });
  const lastSeq = new Map<number, number>();
  const r = await rate(count, () =>
    pipelined(count, WINDOW, (i) => {
      const entity = i % entities;
      const h = headers();
      h.set('Nats-Msg-Id', `${tag}-${i}`);
      h.set('Nats-Expected-Last-Subject-Sequence', String(lastSeq.get(entity) ?? 0));
      const reply = `${prefix}.${i}`;
      return new Promise<void>((resolve) => {
        waiting.set(reply, resolve);
        nc.publish(eventSubject('job', `hr${tag}${entity}x${i}`), payload, { reply, headers: h });
      });
    }),
  );
  sub.unsubscribe();
  return r;
}

/**
 * One event as Drover's live path makes it: the job decider validates the submission (zod) and
 * envelopes it; the log encodes it and appends it on the entity's expected sequence.
 */
function decideSubmit(tag: string, i: number): DroverEvent {
  const d = jobBehaviour.decide(jobBehaviour.initial(), {
    type: 'SubmitJob',
    id: `${tag}-${i}`,
    at: 1_700_000_000_000 + i,
    by: { kind: 'user', id: 'alice' },
    data: jobSpec(),
  });
  if (!d.ok) throw new Error(d.rejection.message);
  return d.events[0] as DroverEvent;
}

/**
 * Drover's event log, awaited one by one: the log validates each event (zod), encodes it and
 * appends it on the entity's expected sequence with its id as Nats-Msg-Id. The events arrive
 * unvalidated, as from an outside writer, so the log's whole cost is timed.
 */
export async function logSequential(log: EventLog, count: number): Promise<number> {
  const tag = randomUUID().slice(0, 8);
  const template = ev('job.submitted', jobSpec());
  return rate(count, async () => {
    for (let i = 0; i < count; i++) {
      const event = { ...template, id: `${tag}-${i}` };
      const r = await log.append('job', `seq${tag}${i}`, [event], { expectedSeq: 0 });
      if (!r.ok) throw new Error('unexpected conflict');
    }
  });
}

/**
 * The same, pipelined over many entities, each append conditional on that entity's sequence.
 * Each event object is built inside the timed op from one template (fresh id), as the raw side
 * builds its headers per op from one payload: neither side is charged for the other's garbage.
 */
export async function logPipelined(log: EventLog, count: number): Promise<number> {
  const tag = randomUUID().slice(0, 8);
  const template = ev('job.submitted', jobSpec());
  return rate(count, () =>
    pipelined(count, WINDOW, async (i) => {
      const event = { ...template, id: `${tag}-${i}` };
      const r = await log.append('job', `pl${tag}${i}`, [event], { expectedSeq: 0 });
      if (!r.ok) throw new Error('unexpected conflict');
    }),
  );
}

/** For information: Drover's live path, the job decider then the log, pipelined (timed together). */
export async function decideAndAppendPipelined(log: EventLog, count: number): Promise<number> {
  const tag = randomUUID().slice(0, 8);
  return rate(count, () =>
    pipelined(count, WINDOW, async (i) => {
      const r = await log.append('job', `da${tag}${i}`, [decideSubmit(tag, i)], { expectedSeq: 0 });
      if (!r.ok) throw new Error('unexpected conflict');
    }),
  );
}
