import type { NatsConnection } from '@nats-io/transport-node';
import { encodeEvent, eventSubject, EVENTS_STREAM } from '../src/events/index.js';
import { JetStreamPublisher } from '../src/events/publisher.jetstream.js';
import { farmHistory } from '../test/support/projection-history.js';
import { jetstreamManager } from '@nats-io/jetstream';

/**
 * Seed the event stream fast: generated farm histories (`farmHistory`, 500 jobs each, valid
 * events of every kind the farm writes) published raw, many in flight on one connection, each
 * with the `Nats-Expected-Last-Subject-Sequence` its entity's previous event got (the chain
 * `drover verify` checks), without the runtime's per-entity read-decide-append round trip.
 * Sequences are assigned in send order (one connection, one writer), so each event's predecessor
 * is known before its ack; every ack is checked against it. Calls `mark` before the history
 * that would take the count past `markAt` (the bench's compaction cut: what follows is recent). Returns how many events were published.
 */
export async function seedHistories(
  nc: NatsConnection,
  o: { events: number; fromHistory?: number; markAt?: number; mark?: () => void },
): Promise<{ events: number; histories: number }> {
  const jsm = await jetstreamManager(nc);
  let seq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  const publisher = new JetStreamPublisher(nc, 120_000, 8_192);
  let published = 0;
  let h = o.fromHistory ?? 0;
  let marked = o.markAt === undefined;
  let failure: Error | undefined;
  try {
    while (published < o.events && !failure) {
      const entries = farmHistory(h + 1, { jobs: 500, users: 20, tag: `g${h}` });
      h++;
      // The cut falls between histories: the one that would cross `markAt` is recent work.
      if (!marked && published + entries.length > (o.markAt ?? 0)) {
        marked = true;
        o.mark?.();
      }
      const last = new Map<string, number>();
      const acks: Promise<void>[] = [];
      for (const x of entries) {
        const subject = eventSubject(x.entity, x.id);
        const mine = ++seq;
        const prev = last.get(subject) ?? 0;
        last.set(subject, mine);
        acks.push(
          publisher.publish(subject, encodeEvent(x.event), x.event.id, prev).then(
            (out) => {
              if (out.kind !== 'stored' || out.seq !== mine)
                failure ??= new Error(
                  `seeding: ${subject} expected seq ${mine}, got ${JSON.stringify(out)}`,
                );
            },
            (err: Error) => void (failure ??= err),
          ),
        );
      }
      await Promise.all(acks);
      published += entries.length;
    }
  } finally {
    await publisher.close();
  }
  if (failure) throw failure;
  return { events: published, histories: h - (o.fromHistory ?? 0) };
}
