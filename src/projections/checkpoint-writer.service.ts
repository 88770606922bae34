import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createJetStreamEventLog, type EventLog } from '../events/index.js';
import { allProjections } from './all.js';
import type { Projection } from './projection.js';
import { createProjectionRunner, type ProjectionRunner } from './projection-runner.jetstream.js';
import { createKvProjectionStore } from './projection-store.jetstream.js';

export interface CheckpointWriterOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  /** The event log (default: the JetStream one on `nc`). */
  readonly eventLog?: EventLog;
  /** Default: every projection the CLI reads (`allProjections()`). */
  readonly projections?: readonly Projection<unknown>[];
  /** The KV bucket (default `drover_projections`); tests give their own. */
  readonly bucket?: string;
  /** Save after this many events or this much time while tailing (runner defaults otherwise). */
  readonly checkpointEvery?: { readonly events?: number; readonly ms?: number };
}

/** A running checkpoint writer: its runner (read its `seq`), `stop()` saves a last time. */
export interface CheckpointWriter {
  readonly runner: ProjectionRunner;
  stop(): Promise<void>;
}

/**
 * The one writer of projection checkpoints: a long-running service folds the projections live
 * from the log and saves them to KV as it goes, so the CLI's `usage`, `fairshare`, `audit` and
 * `replay` start from a recent checkpoint and only ever read them. A checkpoint is a cache of a
 * pure fold: several writers (several API services) write the same values at their own seqs and
 * a lost save only costs a longer catch-up. Saves once caught up, then as configured, and on stop.
 */
export async function startCheckpointWriter(
  opts: CheckpointWriterOptions,
): Promise<CheckpointWriter> {
  const logger = opts.logger.child({ component: 'checkpoint-writer' });
  const owned = opts.eventLog ? undefined : await createJetStreamEventLog(opts.nc);
  const log = opts.eventLog ?? (owned as EventLog);
  const store = await createKvProjectionStore(opts.nc, opts.bucket ? { bucket: opts.bucket } : {});
  const runner = createProjectionRunner({
    log,
    projections: opts.projections ?? allProjections(),
    store,
    ...(opts.checkpointEvery && { checkpointEvery: opts.checkpointEvery }),
    onSaveError: (err) => logger.warn({ err }, 'checkpoint not saved; retried on the next one'),
  });
  await runner.start();
  await runner.checkpoint();
  runner.tail();
  logger.info({ seq: runner.seq, restored: runner.restored.length }, 'checkpoint writer ready');
  return {
    runner,
    async stop() {
      await runner.stop();
      await runner.checkpoint().catch((err: unknown) => {
        logger.warn({ err }, 'last checkpoint not saved');
      });
      await owned?.close();
    },
  };
}
