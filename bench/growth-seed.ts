import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEvent, eventSubject, EVENTS_STREAM } from '../src/events/index.js';
import { AckWindow } from '../src/events/ack-window.js';
import { JetStreamPublisher } from '../src/events/publisher.jetstream.js';
import { farmHistory, type Entry } from '../test/support/projection-history.js';
import { jetstreamManager } from '@nats-io/jetstream';

/** Publishes in flight at once, and how many may wait in memory for a slot. */
const WINDOW = 8_192;
const BACKLOG = 4 * WINDOW;

/**
 * Seed the event stream fast: generated farm histories (by default `farmHistory`, 500 jobs each,
 * valid events of every kind the farm writes; `history(h)` gives another shape) published raw,
 * many in flight on one connection, each with the `Nats-Expected-Last-Subject-Sequence` its
 * entity's previous event got (the chain `drover verify` checks), without the runtime's
 * per-entity read-decide-append round trip. Sequences are assigned in send order (one
 * connection, one writer, a publisher that keeps call order), so each event's predecessor is
 * known before its ack; every ack is checked against it. The next history is generated and sent
 * while the previous one's acks are still coming (histories have disjoint ids; an entity's own
 * events keep their order). Calls `mark` before the history that would take the count past
 * `markAt` (the bench's compaction cut: what follows is recent). Returns how many events were
 * published.
 */
export async function seedHistories(
  nc: NatsConnection,
  o: {
    events: number;
    fromHistory?: number;
    markAt?: number;
    mark?: () => void;
    history?: (h: number) => Entry[];
    progress?: (published: number) => void;
  },
): Promise<{ events: number; histories: number }> {
  const jsm = await jetstreamManager(nc);
  let seq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  const publisher = new JetStreamPublisher(nc, 120_000, WINDOW);
  const history =
    o.history ?? ((h: number) => farmHistory(h + 1, { jobs: 500, users: 20, tag: `g${h}` }));
  let published = 0;
  let h = o.fromHistory ?? 0;
  let marked = o.markAt === undefined;
  const window = new AckWindow();
  try {
    while (published < o.events && !window.failure) {
      const entries = history(h);
      if (entries.length === 0) break; // the generator has no more
      h++;
      // The cut falls between histories: the one that would cross `markAt` is recent work.
      if (!marked && published + entries.length > (o.markAt ?? 0)) {
        await window.settle(0); // everything before the cut is stored before it is taken
        marked = true;
        o.mark?.();
      }
      const last = new Map<string, number>();
      for (const x of entries) {
        const subject = eventSubject(x.entity, x.id);
        const mine = ++seq;
        const prev = last.get(subject) ?? 0;
        last.set(subject, mine);
        window.track(
          publisher.publish(subject, encodeEvent(x.event), x.event.id, prev).then((out) => {
            if (out.kind !== 'stored' || out.seq !== mine)
              throw new Error(
                `seeding: ${subject} expected seq ${mine}, got ${JSON.stringify(out)}`,
              );
          }),
        );
      }
      published += entries.length;
      o.progress?.(published);
      if (window.size > BACKLOG) await window.settle(BACKLOG / 2);
    }
    await window.settle(0);
  } finally {
    await publisher.close();
  }
  if (window.failure) throw window.failure;
  return { events: published, histories: h - (o.fromHistory ?? 0) };
}
