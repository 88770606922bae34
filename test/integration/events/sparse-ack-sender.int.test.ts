import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatches } from '../../../src/events/reader.jetstream.js';
import { SparseAckSender } from '../../../src/events/sparse-ack-sender.jetstream.js';
import { useEventLog } from '../../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });

/** A stream of its own (unique name and subjects) and its first free sequence. */
async function freshStream(jsm: JetStreamManager): Promise<{ name: string; subject: string }> {
  const tag = randomUUID().slice(0, 8);
  const name = `SPARSE_${tag}`;
  await jsm.streams.add({ name, subjects: [`sparse.${tag}.>`], duplicate_window: 60_000_000_000 });
  return { name, subject: `sparse.${tag}` };
}

const bytes = (i: number) => new TextEncoder().encode(`m${i}`);

async function send(sender: SparseAckSender, subject: string, from: number, to: number) {
  for (let i = from; i < to; i++) {
    const wait = sender.send({
      subject: `${subject}.${i % 7}`,
      data: bytes(i),
      headers: { 'Nats-Msg-Id': `id-${i}`, 'X-Index': String(i) },
    });
    if (wait) await wait;
  }
}

describe('SparseAckSender on a real nats-server', () => {
  it('stores every message in send order with its headers, one ack asked per 100', async () => {
    const jsm = await jetstreamManager(farm.nc);
    const s = await freshStream(jsm);
    const sender = new SparseAckSender(farm.nc, 1, 100, 3);
    await send(sender, s.subject, 0, 2_345);
    await sender.finish();
    sender.close();
    const seen: string[] = [];
    for await (const b of readBatches(farm.nc, jsm, s.name, { headers: true }))
      for (const m of b) seen.push(`${m.seq}:${m.headers?.get('X-Index')}`);
    expect(seen).toEqual(Array.from({ length: 2_345 }, (_, i) => `${i + 1}:${i}`));
  });

  it('fails when a message between marks was not stored (a duplicate id): the next mark is off', async () => {
    const jsm = await jetstreamManager(farm.nc);
    const s = await freshStream(jsm);
    const sender = new SparseAckSender(farm.nc, 1, 100, 3);
    await send(sender, s.subject, 0, 50);
    // Message 50 repeats message 10's id: the stream drops it without a word (no reply asked).
    sender.send({
      subject: `${s.subject}.x`,
      data: bytes(50),
      headers: { 'Nats-Msg-Id': 'id-10' },
    });
    await expect(
      (async () => {
        await send(sender, s.subject, 51, 400);
        await sender.finish();
      })(),
    ).rejects.toThrow(/not stored at seq 100/);
    sender.close();
  });

  it('fails when another writer puts a message in between', async () => {
    const jsm = await jetstreamManager(farm.nc);
    const s = await freshStream(jsm);
    const sender = new SparseAckSender(farm.nc, 1, 100, 3);
    await send(sender, s.subject, 0, 30);
    await jsm.jetstream().publish(`${s.subject}.other`, bytes(-1));
    await expect(
      (async () => {
        await send(sender, s.subject, 30, 300);
        await sender.finish();
      })(),
    ).rejects.toThrow(/not stored at seq/);
    sender.close();
  });
});
