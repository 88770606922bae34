import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  createKvProjectionStore,
  openKvCheckpointReader,
  type CheckpointReader,
  type Json,
  type ProjectionStore,
} from '../projections/index.js';
import { READ_MODEL_FORMAT, readModelFingerprint } from './read-model-snapshot.js';

/**
 * Start-up snapshots of a service's folded state (the API's read model, the dashboard's feed),
 * kept beside the projection checkpoints in KV `drover_projections` through the same store (large
 * values split into parts under a manifest, so a reader never sees half of one). The key names the
 * format and the folds' fingerprint: a snapshot written by other code is simply not found, and the
 * service folds from the log's start (then writes one of its own).
 */
export interface StartupSnapshots {
  load(): Promise<{ seq: number; state: unknown } | undefined>;
  save(seq: number, state: unknown): Promise<void>;
}

/** The KV key of `name`'s snapshot: `startup-<name>-v<format>-<fingerprint>`. */
export function startupSnapshotKey(name: string): string {
  return `startup-${name}-v${READ_MODEL_FORMAT}-${readModelFingerprint()}`;
}

/**
 * The snapshots of `name` on `nc`. A user without rights to the bucket gets a store that reads
 * what it may and warns (once) when it cannot write: a snapshot only saves start-up time.
 */
export async function openStartupSnapshots(
  nc: NatsConnection,
  name: string,
  logger: Logger,
  opts: { bucket?: string } = {},
): Promise<StartupSnapshots> {
  const key = startupSnapshotKey(name);
  let store: ProjectionStore | undefined;
  let reader: CheckpointReader | undefined;
  try {
    store = await createKvProjectionStore(nc, opts);
  } catch (err) {
    logger.warn({ err }, `no start-up snapshots of the ${name} written (bucket not writable)`);
    reader = await openKvCheckpointReader(nc, opts).catch(() => undefined);
  }
  return {
    async load() {
      const cp = await (store ?? reader)?.load(key).catch((err: unknown) => {
        logger.warn({ err }, `start-up snapshot of the ${name} not readable: folding the log`);
        return undefined;
      });
      if (!cp || cp.name !== name || cp.version !== READ_MODEL_FORMAT || cp.state === null)
        return undefined;
      return { seq: cp.seq, state: cp.state };
    },
    async save(seq, state) {
      if (!store) return;
      await store.save(key, { name, version: READ_MODEL_FORMAT, seq, state: state as Json });
    },
  };
}

/**
 * Save a snapshot every `everyMs` when at least `minEvents` were folded since the last one (so an
 * idle service does not rewrite the same state). `take` builds it synchronously (a consistent
 * state at one sequence); a failed save is logged and retried next time.
 */
export function startSnapshotTimer(o: {
  readonly position: () => number;
  readonly take: () => { seq: number; state: unknown };
  readonly snapshots: StartupSnapshots;
  readonly logger: Logger;
  readonly everyMs: number;
  readonly minEvents: number;
  readonly savedSeq: number;
}): { saveNow(): Promise<void>; stop(): void } {
  let savedSeq = o.savedSeq;
  let saving: Promise<void> | undefined;
  const saveNow = async () => {
    await saving;
    if (o.position() <= savedSeq) return;
    const started = Date.now();
    // Taken inside the chain: a failed take is a snapshot not saved, like a failed save, and
    // `saveNow` never rejects (its timer and the start-up call it without waiting).
    let seq: number | undefined;
    saving = Promise.resolve()
      .then(() => {
        const taken = o.take();
        seq = taken.seq;
        return o.snapshots.save(taken.seq, taken.state);
      })
      .then(() => {
        savedSeq = seq!;
        o.logger.info({ seq, ms: Date.now() - started }, 'start-up snapshot saved');
      })
      .catch((err: unknown) => o.logger.warn({ err, seq }, 'start-up snapshot not saved'));
    await saving;
  };
  const timer = setInterval(() => {
    if (o.position() - savedSeq >= o.minEvents) void saveNow();
  }, o.everyMs);
  timer.unref();
  return { saveNow, stop: () => clearInterval(timer) };
}
