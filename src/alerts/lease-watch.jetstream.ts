import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { LeaderObservation } from '../policy/alerts/index.js';
import { LEASE_BUCKET } from '../scheduler/lease.jetstream.js';

const LEASE_KEY = 'leader';

/** The lease as stored (`src/scheduler/lease.jetstream.ts`). */
interface LeaseValue {
  readonly holder: string;
  readonly epoch: number;
  readonly released?: boolean;
}

/** The lease key's last revision and when this watcher first saw it (its own clock). */
export interface LeaseSeen {
  readonly revision: number;
  readonly since: number;
}

/**
 * Whether a scheduler leads, from one reading of the lease key. Pure. A leader renews every
 * third of the TTL, so a revision that has not moved for `staleMs` (by this watcher's own clock,
 * as the standbys judge it: no clock is compared across machines) means nobody leads.
 */
export function leaderFrom(
  lease: { value?: LeaseValue; revision: number } | undefined,
  seen: LeaseSeen | undefined,
  now: number,
  staleMs: number,
): { observation: LeaderObservation; seen?: LeaseSeen } {
  if (!lease?.value) return { observation: { leading: false, why: 'no scheduler has ever led' } };
  const { holder, epoch, released } = lease.value;
  const next = seen?.revision === lease.revision ? seen : { revision: lease.revision, since: now };
  if (released)
    return {
      observation: { leading: false, holder, epoch, why: `${holder} released the lease` },
      seen: next,
    };
  const silent = now - next.since;
  if (silent >= staleMs) {
    const why = `${holder} has not renewed the lease for ${Math.round(silent / 1000)} s`;
    return { observation: { leading: false, holder, epoch, why }, seen: next };
  }
  return { observation: { leading: true, holder, epoch }, seen: next };
}

/** Reads the scheduler lease (never writes it, never creates the bucket). */
export interface LeaseWatch {
  observe(now: number): Promise<LeaderObservation>;
}

/**
 * Watch the scheduler lease in JetStream KV. Independent of any scheduler, so it keeps
 * answering — "nobody leads" — when every scheduler is down.
 */
export function watchLease(nc: NatsConnection, staleMs: number): LeaseWatch {
  let kv: KV | undefined;
  let seen: LeaseSeen | undefined;
  return {
    async observe(now) {
      kv ??= await new Kvm(nc).open(LEASE_BUCKET).catch(() => undefined);
      const entry = kv ? await kv.get(LEASE_KEY).catch(() => null) : null;
      const lease =
        entry && entry.operation === 'PUT'
          ? { value: entry.json<LeaseValue>(), revision: entry.revision }
          : undefined;
      const out = leaderFrom(lease, seen, now, staleMs);
      seen = out.seen;
      return out.observation;
    },
  };
}
