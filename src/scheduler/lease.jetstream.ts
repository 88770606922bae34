import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { raiseReplicas } from '../events/index.js';
import {
  encodeLease as encode,
  LEASE_BUCKET,
  LEASE_KEY,
  ownRevision,
  WRONG_LAST_SEQUENCE,
  type LeaseValue,
} from './lease-kv.js';
import { holdOffThread, type OffThreadRenewal } from './lease-renewal.js';

export { LEASE_BUCKET } from './lease-kv.js';

export interface LeaseOptions {
  readonly holder: string;
  /** A lease not renewed for this long is taken over by a standby (default 5 s). */
  readonly ttlMs?: number;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Aborts waiting for the lease. */
  readonly signal?: AbortSignal;
  /** Replicas of the lease bucket when this creates it (`DROVER_REPLICAS`; never lowered). */
  readonly replicas?: number;
  /**
   * Renew from a thread of its own, so a blocked event loop does not cost the lease (the CLI's
   * schedulers; see `OffThreadRenewal`). Default: renewed on this loop.
   */
  readonly offThread?: OffThreadRenewal;
}

/** Leadership: one scheduler leads, its fencing epoch goes on every event it appends. */
export interface Lease {
  readonly epoch: number;
  /** False once the lease could not be renewed in time: stop writing at once. */
  held(): boolean;
  /** Resolves when leadership is lost. */
  readonly lost: Promise<void>;
  /** Give the lease up (clean stop): a standby takes over without waiting. */
  release(): Promise<void>;
}

/**
 * Wait until this scheduler leads, through a lease in JetStream KV. Taking over increments the
 * epoch with a compare-and-set on the key's revision, so two standbys cannot both win; a lease is
 * considered lapsed when its revision has not changed for `ttlMs` by the standby's own clock (no
 * clock comparison across machines). The holder renews every third of the TTL and considers
 * pauses writing, before anyone may take over, when a renewal has not succeeded for 2/3 TTL, and
 * resumes once a renewal succeeds (which proves nobody took over).
 */
export async function acquireLease(nc: NatsConnection, opts: LeaseOptions): Promise<Lease> {
  const ttlMs = opts.ttlMs ?? 5_000;
  const clock = opts.clock ?? Date.now;
  const kv = await ensureLeaseBucket(nc, opts.replicas);
  let seen: { revision: number; since: number } | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      // Read inside the try: a read that fails (JetStream without a leader while a nats-server
      // restarts, a timeout) is one more turn of the wait. Thrown, it ended the standby's wait,
      // and with it the process or the API beside it (the chaos run, issue 23).
      const entry = await kv.get(LEASE_KEY);
      const current = entry && entry.operation === 'PUT' ? (entry.json() as LeaseValue) : undefined;
      if (!entry || !current) {
        const revision = await kv.create(LEASE_KEY, encode({ holder: opts.holder, epoch: 1 }));
        return hold(kv, opts, 1, revision, ttlMs, clock);
      }
      if (!seen || seen.revision !== entry.revision)
        seen = { revision: entry.revision, since: clock() };
      if (current.released || clock() - seen.since >= ttlMs) {
        const epoch = current.epoch + 1;
        const value = encode({ holder: opts.holder, epoch });
        const revision = await kv.update(LEASE_KEY, value, entry.revision);
        opts.logger.info({ epoch, from: current.holder }, 'took over the scheduler lease');
        return hold(kv, opts, epoch, revision, ttlMs, clock);
      }
    } catch (err) {
      if (nc.isClosed()) throw err; // the wait ends with its connection
      opts.logger.debug({ err }, 'lease race lost or lease unreadable; retrying');
    }
    await sleep(Math.max(50, ttlMs / 10));
  }
}

/**
 * The lease's KV bucket: created with `replicas` (default 1) when missing, an existing one bound
 * as it is, its replicas raised to `replicas` when asked and never lowered.
 */
export async function ensureLeaseBucket(nc: NatsConnection, replicas?: number): Promise<KV> {
  const kv = await new Kvm(nc).create(LEASE_BUCKET, { history: 1, replicas: replicas ?? 1 });
  await raiseReplicas(await jetstreamManager(nc), `KV_${LEASE_BUCKET}`, replicas);
  return kv;
}

function hold(
  kv: KV,
  opts: LeaseOptions,
  epoch: number,
  firstRevision: number,
  ttlMs: number,
  clock: () => number,
): Lease {
  if (opts.offThread) {
    const lease = { holder: opts.holder, epoch, revision: firstRevision, ttlMs };
    return { epoch, ...holdOffThread(opts.offThread, lease, opts.logger) };
  }
  let revision = firstRevision;
  let renewedAt = clock();
  let valid = true;
  let markLost: () => void = () => {};
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const depose = (why: string) => {
    if (!valid) return;
    valid = false;
    clearInterval(timer);
    opts.logger.warn({ epoch, why }, 'scheduler lease lost');
    markLost();
  };
  // A late renewal (a busy event loop, a slow server) only pauses writing: `held()` is false
  // while overdue. Leadership is lost only when the compare-and-set on our revision fails, i.e.
  // someone else took the lease; a renewal that succeeds proves nobody did, so writing resumes.
  let renewing = false;
  let tickedAt = clock();
  const timer = setInterval(() => {
    // A tick far behind its interval is this process's event loop stalled (a long synchronous
    // step, a blocking collection): past the TTL a standby may already have taken over. Logged
    // with its length, so a lost lease can be told from a dead server after the fact.
    const now = clock();
    const late = now - tickedAt - ttlMs / 3;
    tickedAt = now;
    if (late > ttlMs / 3)
      opts.logger.warn({ epoch, lateMs: late, ttlMs }, 'lease renewal ran late');
    if (renewing) return;
    renewing = true;
    kv.update(LEASE_KEY, encode({ holder: opts.holder, epoch }), revision)
      .then(
        (r) => {
          revision = r;
          renewedAt = clock();
        },
        async (err: unknown) => {
          if (err instanceof Error && err.name === 'ClosedConnectionError') {
            depose('connection closed');
            return;
          }
          if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) {
            opts.logger.warn(
              { err, epoch },
              'lease renewal failed; writes paused until it succeeds',
            );
            return;
          }
          // A renewal whose ack was lost (a stream leader change, a reconnect) may have landed:
          // then the key is still ours at a newer revision, and nobody took over.
          const mine = await ownRevision(kv, opts.holder, epoch).catch(() => undefined);
          if (mine === undefined) depose('another scheduler took the lease');
          else revision = mine;
        },
      )
      .finally(() => (renewing = false));
  }, ttlMs / 3);
  return {
    epoch,
    held: () => valid && clock() - renewedAt <= (2 * ttlMs) / 3,
    lost,
    async release() {
      if (!valid) return;
      valid = false;
      clearInterval(timer);
      await kv
        .update(LEASE_KEY, encode({ holder: opts.holder, epoch, released: true }), revision)
        .catch(() => undefined);
      markLost();
    },
  };
}
