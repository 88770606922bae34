import type { NatsConnection } from '@nats-io/transport-node';
import type { EventLog } from '../../src/events/index.js';
import type { Projection, ProjectionRunner } from '../../src/projections/index.js';
import type { Entry } from './projection-history.js';

/** Append entries in order, one by one (unconditional appends), returning their sequences. */
export async function appendAll(log: EventLog, entries: readonly Entry[]): Promise<number[]> {
  const seqs: number[] = [];
  for (const x of entries) {
    const r = await log.append(x.entity, x.id, [x.event]);
    if (!r.ok) throw new Error('unexpected conflict');
    seqs.push(r.seqs[0] as number);
  }
  return seqs;
}

/** Every projection's snapshot as the runner holds it now. */
export function snapshots(
  r: ProjectionRunner,
  ps: readonly Projection<unknown>[],
): Record<string, unknown> {
  return Object.fromEntries(ps.map((p) => [p.name, p.snapshot(r.state(p.name))]));
}

/** Publish raw bytes on an event subject (a corrupt message the codec refuses). */
export async function publishRaw(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
): Promise<void> {
  const { jetstream } = await import('@nats-io/jetstream');
  await jetstream(nc).publish(subject, data);
}
