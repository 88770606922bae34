import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubject, JetStreamPublisher } from '../../src/events/index.js';
import { uid } from '../support/events.js';
import { useEventLog } from '../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const bytes = new Uint8Array([0xc0]); // any payload: the publisher does not read it

describe('JetStreamPublisher', () => {
  it('keeps the order of the publishes made in one turn', async () => {
    const publisher = new JetStreamPublisher(farm.nc, 5_000, 64);
    const subject = eventSubject('job', uid());
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => publisher.publish(subject, bytes, `${subject}-${i}`)),
    );
    const seqs = outcomes.map((o) => (o.kind === 'stored' ? o.seq : -1));
    expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
    await publisher.close();
  });

  it('keeps call order when acks free the window before the turn is sent', async () => {
    // Three publishes in flight of a window of four; their acks wait in the socket while this
    // turn publishes B (to be sent at the end of the turn) and C (queued: the window is full).
    // The acks are read before the turn ends: C, freed by them, must not go out before B.
    // The benches' raw seeding relies on it (each ack checked against the sequence it must get).
    const publisher = new JetStreamPublisher(farm.nc, 5_000, 4);
    const subject = eventSubject('job', uid());
    const first = [0, 1, 2].map((i) => publisher.publish(subject, bytes, `${subject}-${i}`));
    await new Promise((r) => setImmediate(r)); // sent, their acks not read yet
    const until = Date.now() + 300; // the acks arrive meanwhile, unread
    while (Date.now() < until) {} // blocks the event loop, as a busy turn does
    const later = [3, 4, 5].map((i) => publisher.publish(subject, bytes, `${subject}-${i}`));
    const seqs = (await Promise.all([...first, ...later])).map((o) =>
      o.kind === 'stored' ? o.seq : -1,
    );
    expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
    await publisher.close();
  });

  it('keeps at most its window in flight, counting what waits for the end of the turn', async () => {
    const publisher = new JetStreamPublisher(farm.nc, 5_000, 4);
    const subject = eventSubject('job', uid());
    const all = Array.from({ length: 100 }, (_, i) =>
      publisher.publish(subject, bytes, `${subject}-${i}`),
    );
    expect(publisher.backlog).toBe(96);
    expect((await Promise.all(all)).every((o) => o.kind === 'stored')).toBe(true);
    expect(publisher.backlog).toBe(0);
    await publisher.close();
  });

  it('refuses what was not sent when closed, and sends none of it', async () => {
    const publisher = new JetStreamPublisher(farm.nc, 5_000, 4);
    const subject = eventSubject('job', uid());
    const before = await farm.log.lastSeq();
    const all = Array.from({ length: 10 }, (_, i) =>
      publisher.publish(subject, bytes, `${subject}-${i}`).then(
        () => 'stored',
        (err: Error) => err.message,
      ),
    );
    await publisher.close();
    expect(await Promise.all(all)).toEqual(Array.from({ length: 10 }, () => 'event log closed'));
    await farm.nc.flush();
    expect(await farm.log.lastSeq()).toBe(before);
  });
});
