import { headers } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, eventSubject, isCorrupt, type ReplayItem } from '../../src/events/index.js';
import { ev, jobSpec, uid } from '../support/events.js';
import { useEventLog } from '../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });

async function collect(items: AsyncIterable<ReplayItem>): Promise<ReplayItem[]> {
  const out: ReplayItem[] = [];
  for await (const i of items) out.push(i);
  return out;
}

describe('append and read one entity', () => {
  it('stores events in order and reads them back with their sequences', async () => {
    const id = uid();
    const first = await farm.log.append('job', id, [ev('job.submitted', jobSpec())], {
      expectedSeq: 0,
    });
    expect(first.ok).toBe(true);
    const seq1 = first.ok ? (first.seqs[0] as number) : -1;
    const second = await farm.log.append('job', id, [ev('job.queued', {})], { expectedSeq: seq1 });
    expect(second.ok).toBe(true);

    const { events, lastSeq, corrupt } = await farm.log.read('job', id);
    expect(events.map((e) => e.type)).toEqual(['job.submitted', 'job.queued']);
    expect(events[0]?.recorded).toEqual({ subject: eventSubject('job', id), seq: seq1 });
    expect(lastSeq).toBe(second.ok ? second.seqs[0] : -1);
    expect(corrupt).toEqual([]);
  });

  it('reads an entity with no events as empty, with last sequence 0', async () => {
    expect(await farm.log.read('job', uid())).toEqual({ events: [], lastSeq: 0, corrupt: [] });
  });

  it('chains a batch of events on one entity, each conditional on the one before', async () => {
    const id = uid();
    const r = await farm.log.append(
      'job',
      id,
      [ev('job.submitted', jobSpec()), ev('job.queued', {}), ev('job.started', {})],
      {
        expectedSeq: 0,
      },
    );
    expect(r.ok && r.seqs.length).toBe(3);
    expect((await farm.log.read('job', id)).events).toHaveLength(3);
  });
});

describe('concurrency: append-if-unchanged', () => {
  it('two writers racing on one entity: exactly one wins, the other gets a conflict as data', async () => {
    for (let round = 0; round < 20; round++) {
      const id = uid();
      const created = await farm.log.append('job', id, [ev('job.submitted', jobSpec())], {
        expectedSeq: 0,
      });
      const seen = created.ok ? (created.seqs[0] as number) : -1;
      const [a, b] = await Promise.all([
        farm.log.append('job', id, [ev('job.queued', {})], { expectedSeq: seen }),
        farm.log.append('job', id, [ev('job.held', { reason: 'racing' })], { expectedSeq: seen }),
      ]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const loser = a.ok ? b : a;
      const winner = a.ok ? a : b;
      expect(loser.ok).toBe(false);
      if (!loser.ok && winner.ok) {
        expect(loser.conflict.expectedSeq).toBe(seen);
        expect(loser.conflict.actualSeq).toBe(winner.seqs[0]);
        expect(loser.appended).toBe(0);
      }
      expect((await farm.log.read('job', id)).events).toHaveLength(2);
    }
  });

  it('a writer that never saw the entity (expected 0) cannot append after someone else created it', async () => {
    const id = uid();
    await farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    const late = await farm.log.append('job', id, [ev('job.submitted', jobSpec())], {
      expectedSeq: 0,
    });
    expect(late.ok).toBe(false);
  });
});

describe('idempotency', () => {
  it('a duplicate Nats-Msg-Id is stored once, and the retry is told it was a duplicate', async () => {
    const id = uid();
    const event = ev('job.submitted', jobSpec());
    const first = await farm.log.append('job', id, [event], { expectedSeq: 0 });
    // A retried command: same event id, stale expectation. The duplicate check wins.
    const retry = await farm.log.append('job', id, [event], { expectedSeq: 0 });
    expect(first.ok && retry.ok).toBe(true);
    if (first.ok && retry.ok) {
      expect(retry.seqs).toEqual(first.seqs);
      expect(retry.duplicates).toBe(1);
    }
    expect((await farm.log.read('job', id)).events).toHaveLength(1);
  });
});

describe('bad input never reaches the log', () => {
  it('refuses an event that fails its schema, naming the field, and writes nothing', async () => {
    const id = uid();
    const bad = ev('job.submitted', jobSpec({ memMb: -5 }));
    await expect(farm.log.append('job', id, [bad], { expectedSeq: 0 })).rejects.toMatchObject({
      code: ErrorCodes.InvalidEvent,
      message: expect.stringContaining('data.memMb'),
    });
    expect((await farm.log.read('job', id)).events).toHaveLength(0);
  });

  it('refuses an event of another entity on this entity subject', async () => {
    await expect(
      farm.log.append('node', uid(), [ev('job.queued', {})], { expectedSeq: 0 }),
    ).rejects.toMatchObject({
      code: ErrorCodes.InvalidEvent,
    });
  });
});

describe('replay', () => {
  it('reports a corrupt message with its sequence and goes on past it', async () => {
    const id = uid();
    const start = (await farm.log.lastSeq()) + 1;
    await farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    const h = headers();
    h.set('Nats-Msg-Id', uid('garbage'));
    farm.nc.publish(eventSubject('job', id), new Uint8Array([0xc1, 0xff, 0x00]), { headers: h });
    await farm.nc.flush();
    const other = uid();
    await farm.log.append('job', other, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });

    const items = await collect(farm.log.replay({ fromSeq: start }));
    expect(items).toHaveLength(3);
    const bad = items[1];
    expect(bad && isCorrupt(bad)).toBe(true);
    if (bad && isCorrupt(bad)) {
      expect(bad.seq).toBe(start + 1);
      expect(bad.error.message).toContain(`seq ${start + 1}`);
    }
    expect(items[2] && !isCorrupt(items[2]) && items[2].recorded.subject).toBe(
      eventSubject('job', other),
    );
    // Reading the entity reports it too, and counts it in lastSeq (the append condition).
    const history = await farm.log.read('job', id);
    expect(history.events).toHaveLength(1);
    expect(history.corrupt.map((c) => c.seq)).toEqual([start + 1]);
    expect(history.lastSeq).toBe(start + 1);
  });

  it('replays a range by sequence and by time, and by entity kind', async () => {
    const base = await farm.log.lastSeq();
    const nodeId = uid('n');
    await farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    await farm.log.append(
      'node',
      nodeId,
      [
        ev('node.registered', {
          hostname: 'h',
          cpus: 2,
          memMb: 1024,
          gpus: 0,
          labels: {},
          incarnation: 'i1',
        }),
      ],
      { expectedSeq: 0 },
    );
    await farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 });

    const middle = await collect(farm.log.replay({ fromSeq: base + 2, untilSeq: base + 2 }));
    expect(middle.map((i) => !isCorrupt(i) && i.type)).toEqual(['node.registered']);
    const nodes = await collect(farm.log.replay({ fromSeq: base + 1, entity: 'node' }));
    expect(nodes.map((i) => !isCorrupt(i) && i.recorded.subject)).toEqual([
      eventSubject('node', nodeId),
    ]);
    const none = await collect(farm.log.replay({ fromSeq: base + 1, untilTime: 0 }));
    expect(none).toEqual([]);
    const future = await collect(farm.log.replay({ fromTime: Date.now() + 60_000 }));
    expect(future).toEqual([]);
  });
});

describe('replay across a server crash', () => {
  it('resumes at the next sequence after kill -9 and restart: nothing lost, nothing repeated', async () => {
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const ids = Array.from({ length: 12_000 }, () => uid());
    let next = 0;
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < ids.length) {
          const id = ids[next++] as string;
          const r = await farm.log.append('job', id, [ev('job.submitted', jobSpec())], {
            expectedSeq: 0,
          });
          expect(r.ok).toBe(true);
        }
      }),
    );
    const untilSeq = fromSeq + ids.length - 1;
    const seqs: number[] = [];
    let restarted = false;
    let seenAtRestart = 0;
    for await (const batch of farm.log.replayBatches({ fromSeq, untilSeq })) {
      for (const item of batch) seqs.push(isCorrupt(item) ? item.seq : item.recorded.seq);
      if (!restarted) {
        restarted = true;
        seenAtRestart = seqs.length;
        await farm.server.restart(); // the replay's consumer dies with the server
      }
    }
    expect(seenAtRestart).toBeLessThan(ids.length / 2); // most of it was read after the crash
    expect(seqs.length).toBe(ids.length);
    expect(seqs).toEqual(Array.from({ length: ids.length }, (_, i) => fromSeq + i));
  }, 60_000);
});

describe('tail', () => {
  it('delivers live events in order and stops when asked', async () => {
    const tail = farm.log.tail({ fromSeq: (await farm.log.lastSeq()) + 1 });
    const seen: string[] = [];
    const done = (async () => {
      for await (const item of tail) {
        if (!isCorrupt(item)) seen.push(item.recorded.subject);
        if (seen.length === 3) await tail.stop();
      }
    })();
    const ids = [uid(), uid(), uid()];
    for (const id of ids)
      await farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    await done;
    expect(seen).toEqual(ids.map((id) => eventSubject('job', id)));
  });

  it('keeps tailing across a crash and restart of the server, without gaps or repeats', async () => {
    const tail = farm.log.tail({ fromSeq: (await farm.log.lastSeq()) + 1 });
    const seen: string[] = [];
    const ids = Array.from({ length: 6 }, () => uid());
    const done = (async () => {
      for await (const item of tail) {
        if (!isCorrupt(item)) seen.push(item.recorded.subject);
        if (seen.length === ids.length) await tail.stop();
      }
    })();
    for (const id of ids.slice(0, 3))
      await farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
    await farm.server.restart();
    for (const id of ids.slice(3)) {
      // The client reconnects by itself; appends retry until the stream answers again.
      for (;;) {
        const r = await farm.log
          .append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 })
          .catch(() => undefined);
        if (r) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    await done;
    expect(seen).toEqual(ids.map((id) => eventSubject('job', id)));
  }, 60_000);
});
