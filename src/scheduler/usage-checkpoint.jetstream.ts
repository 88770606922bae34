import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { FarmIndex } from './farm-index.js';
import { LEASE_BUCKET } from './lease.jetstream.js';
import { parseUsageCheckpoint, type UsageCheckpoint } from './usage-checkpoint.js';

/** The key of the scheduler's usage checkpoint in its lease bucket (`drover_scheduler`). */
export const USAGE_CHECKPOINT_KEY = 'usage';
/** How often the leader writes it: what a restart re-folds is at most this much recent usage. */
export const USAGE_CHECKPOINT_EVERY_MS = 60_000;

/** The scheduler's bucket, bound as it is (the lease created it; nothing is reconfigured). */
export function usageCheckpointBucket(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).open(LEASE_BUCKET);
}

/**
 * The stored usage checkpoint, when there is a usable one: absent, unreadable, or ahead of the
 * log's last sequence (the log was replaced by an older copy) all mean "fold usage from the
 * log's start", said in the log.
 */
export async function loadUsageCheckpoint(
  kv: KV,
  lastSeq: number,
  logger: Logger,
): Promise<UsageCheckpoint | undefined> {
  const entry = await kv.get(USAGE_CHECKPOINT_KEY);
  if (!entry || entry.operation !== 'PUT') return undefined;
  let c: UsageCheckpoint;
  try {
    c = parseUsageCheckpoint(entry.json());
  } catch (err) {
    logger.warn({ err }, 'usage checkpoint unreadable; folding usage from the log start');
    return undefined;
  }
  if (c.seq > lastSeq) {
    logger.warn(
      { seq: c.seq, lastSeq },
      'usage checkpoint ahead of the log; folding from its start',
    );
    return undefined;
  }
  return c;
}

export interface UsageCheckpointWriter {
  /** Write once more (what was folded since the last write) and stop. */
  stop(): Promise<void>;
}

/**
 * Write the index's usage fold every `everyMs` while `canWrite` (the leader, caught up), when it
 * moved since the last write. Any scheduler's checkpoint is right for its sequence (the fold is
 * deterministic), so no fencing is needed: a late writer only stores an older, still exact one.
 */
export function startUsageCheckpoints(o: {
  readonly kv: KV;
  readonly index: FarmIndex;
  readonly canWrite: () => boolean;
  readonly logger: Logger;
  readonly everyMs?: number;
}): UsageCheckpointWriter {
  let written = -1;
  let writing: Promise<void> = Promise.resolve();
  const write = () => {
    if (!o.canWrite()) return writing;
    const c = o.index.usageCheckpoint();
    if (c.seq === written) return writing;
    writing = writing
      .then(() => o.kv.put(USAGE_CHECKPOINT_KEY, JSON.stringify(c)))
      .then(
        () => void (written = c.seq),
        (err: unknown) => o.logger.warn({ err }, 'usage checkpoint not written'),
      );
    return writing;
  };
  const timer = setInterval(write, o.everyMs ?? USAGE_CHECKPOINT_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await write();
    },
  };
}
