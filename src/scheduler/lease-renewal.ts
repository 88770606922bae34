import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Worker, MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import {
  encodeLease,
  LEASE_KEY,
  ownRevision,
  WRONG_LAST_SEQUENCE,
  type LeaseValue,
} from './lease-kv.js';

/**
 * Renewing the lease in a thread of its own (Kafka's background heartbeat, KIP-62): a leader's
 * event loop blocked by a long synchronous step (a memory-reducing collection after catch-up
 * took 0.8-4.3 s in the chaos run, its decode of a burst 1 s) no longer lets the lease lapse and
 * hand leadership to a standby that must then catch up itself, and stall in turn: with a 1.5 s
 * TTL the two schedulers took the lease from each other every few seconds and 6,252 jobs never
 * ended (bench/RESULTS.md). A leader whose loop is wedged for good still loses the lease: the
 * thread renews only while the loop has beaten within `stallLimitMs`. A paused process
 * (SIGSTOP) pauses both threads, and loses the lease as before.
 */
export interface OffThreadRenewal {
  /**
   * Starts the thread that runs `renewFromWorker` with `init` as its `workerData`, on a NATS
   * connection of its own (the CLI's `lease-renewer.worker.ts`).
   */
  readonly start: (init: RenewerInit) => Worker;
  /** The loop may be blocked this long before the lease is let go (default 30 s). */
  readonly stallLimitMs?: number;
}

export const DEFAULT_STALL_LIMIT_MS = 30_000;

export interface RenewerInit {
  readonly holder: string;
  readonly epoch: number;
  readonly revision: number;
  readonly ttlMs: number;
  readonly stallLimitMs: number;
  /** `SharedClock` slots: when the lease was last renewed, the loop's last beat, still valid. */
  readonly shared: SharedArrayBuffer;
}

/** What the renewer thread tells the leader. */
export type RenewerNote =
  | { readonly kind: 'lost'; readonly why: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'stalled'; readonly ms: number }
  | { readonly kind: 'released' };

const RENEWED = 0;
const BEAT = 1;
const VALID = 2;

/** Three times shared by the two threads (ms since the epoch; `valid` 1 or 0). */
export class SharedClock {
  private readonly slots: BigInt64Array;
  constructor(readonly buffer = new SharedArrayBuffer(3 * 8)) {
    this.slots = new BigInt64Array(buffer);
  }
  get renewedAt(): number {
    return Number(Atomics.load(this.slots, RENEWED));
  }
  set renewedAt(ms: number) {
    Atomics.store(this.slots, RENEWED, BigInt(Math.round(ms)));
  }
  get beatAt(): number {
    return Number(Atomics.load(this.slots, BEAT));
  }
  set beatAt(ms: number) {
    Atomics.store(this.slots, BEAT, BigInt(Math.round(ms)));
  }
  get valid(): boolean {
    return Atomics.load(this.slots, VALID) === 1n;
  }
  set valid(v: boolean) {
    Atomics.store(this.slots, VALID, v ? 1n : 0n);
  }
}

/**
 * The renewer thread's loop: every third of the TTL a compare-and-set of the key on its last
 * revision, while the leader's loop beats. A failed compare-and-set whose key no longer names
 * this leader ends it (`lost`); any other failure only leaves the renewal late (the leader
 * pauses writing until one succeeds). Ends on `release` (a clean stop: the key is marked
 * released so a standby takes over at once).
 */
export function renewFromWorker(
  kv: KV,
  init: RenewerInit,
  port: MessagePort,
  close: () => Promise<void>,
): void {
  const clock = new SharedClock(init.shared);
  const value: LeaseValue = { holder: init.holder, epoch: init.epoch };
  let revision = init.revision;
  let renewing = false;
  let ended = false;
  let stalledSaid = false;
  const note = (n: RenewerNote) => port.postMessage(n);
  const end = async (lost?: string) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    if (lost !== undefined) {
      clock.valid = false;
      note({ kind: 'lost', why: lost });
    }
    await close().catch(() => undefined);
  };
  const timer = setInterval(() => {
    if (renewing || ended) return;
    const stalled = Date.now() - clock.beatAt;
    if (stalled > init.stallLimitMs) {
      // Not renewing lets a standby take over after the TTL; if the loop comes back first, the
      // next renewal succeeds and nothing was lost.
      if (!stalledSaid) note({ kind: 'stalled', ms: stalled });
      stalledSaid = true;
      return;
    }
    stalledSaid = false;
    renewing = true;
    kv.update(LEASE_KEY, encodeLease(value), revision)
      .then(
        (r) => {
          revision = r;
          clock.renewedAt = Date.now();
        },
        async (err: unknown) => {
          if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) {
            note({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
            return;
          }
          // An update whose ack was lost (a stream leader change) may have landed: the key is
          // then still ours at a newer revision.
          const mine = await ownRevision(kv, init.holder, init.epoch).catch(() => undefined);
          if (mine === undefined) await end('another scheduler took the lease');
          else revision = mine;
        },
      )
      .finally(() => (renewing = false));
  }, init.ttlMs / 3);
  port.on('message', (m: unknown) => {
    if ((m as { kind?: string }).kind !== 'release' || ended) return;
    ended = true;
    clearInterval(timer);
    clock.valid = false;
    void kv
      .update(LEASE_KEY, encodeLease({ ...value, released: true }), revision)
      .catch(() => undefined)
      .then(() => close().catch(() => undefined))
      .then(() => note({ kind: 'released' }));
  });
}

/** The leader's side of an off-thread renewal: see `OffThreadRenewal`. */
export function holdOffThread(
  renewal: OffThreadRenewal,
  lease: { holder: string; epoch: number; revision: number; ttlMs: number },
  logger: Logger,
): { held(): boolean; lost: Promise<void>; release(): Promise<void> } {
  const clock = new SharedClock();
  const now = Date.now();
  clock.renewedAt = now;
  clock.beatAt = now;
  clock.valid = true;
  const { epoch, ttlMs } = lease;
  let valid = true;
  let markLost: () => void = () => {};
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  let releasing = false;
  const worker = renewal.start({
    ...lease,
    stallLimitMs: renewal.stallLimitMs ?? DEFAULT_STALL_LIMIT_MS,
    shared: clock.buffer,
  });
  const depose = (why: string) => {
    if (!valid) return;
    valid = false;
    clock.valid = false;
    clearInterval(beat);
    logger.warn({ epoch, why }, 'scheduler lease lost');
    markLost();
    void worker.terminate().catch(() => undefined);
  };
  // The loop's beat: what the renewer thread checks before each renewal. A beat far behind its
  // interval is this loop stalled; said with its length, so a lease lost to it can be told from
  // a server's failure after the fact.
  let beatAt = now;
  const beat = setInterval(() => {
    const t = Date.now();
    const late = t - beatAt - ttlMs / 3;
    beatAt = t;
    clock.beatAt = t;
    if (late > ttlMs / 3) logger.warn({ epoch, stalledMs: late, ttlMs }, 'event loop stalled');
  }, ttlMs / 3);
  const released = new Promise<void>((resolve) => {
    worker.on('message', (n: RenewerNote) => {
      if (n.kind === 'lost') depose(n.why);
      else if (n.kind === 'failed')
        logger.warn(
          { epoch, err: n.message },
          'lease renewal failed; writes paused until it succeeds',
        );
      else if (n.kind === 'stalled')
        logger.error(
          { epoch, stalledMs: n.ms },
          'event loop blocked past the stall limit: the lease is let go',
        );
      else resolve();
    });
    worker.on('error', (err) => {
      logger.error({ err, epoch }, 'the lease renewer failed');
      depose('the lease renewer failed');
      resolve();
    });
    worker.on('exit', () => {
      if (!releasing) depose('the lease renewer ended');
      resolve();
    });
  });
  return {
    held: () => valid && clock.valid && Date.now() - clock.renewedAt <= (2 * ttlMs) / 3,
    lost,
    async release() {
      if (!valid) return;
      valid = false;
      releasing = true;
      clearInterval(beat);
      worker.postMessage({ kind: 'release' });
      // Bounded: a renewer that cannot reach the server lets the lease lapse instead.
      const timeout = setTimeout(() => void worker.terminate(), 5_000);
      await released;
      clearTimeout(timeout);
      await worker.terminate().catch(() => undefined);
      markLost();
    },
  };
}
