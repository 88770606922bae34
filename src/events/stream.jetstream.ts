import { JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  EVENTS_STREAM,
  INTAKE_STREAM,
  INTAKE_SUBJECT,
  REJECTED_STREAM,
  REJECTED_SUBJECT,
  WORK_STREAM,
  WORK_WILDCARD,
  eventWildcard,
} from './subjects.js';

export interface EventStreamOptions {
  readonly name?: string;
  /** 1 on one machine; 3 on a cluster (DESIGN.md: stream replicas R3). */
  readonly replicas?: number;
  /** Largest single event in bytes (the server's max_payload must allow it). */
  readonly maxMsgSize?: number;
  /** Window in which a repeated `Nats-Msg-Id` is recognised (default 2 min). */
  readonly duplicateWindowMs?: number;
}

/**
 * The `DROVER_EVENTS` stream: every event forever, file storage, no deletes or purges (the log
 * is the truth), direct get for fast "last of subject" reads, duplicate window for idempotency.
 */
export function eventStreamConfig(opts: EventStreamOptions = {}): Partial<StreamConfig> {
  return {
    name: opts.name ?? EVENTS_STREAM,
    subjects: [eventWildcard()],
    storage: 'file' as StreamConfig['storage'],
    retention: 'limits' as StreamConfig['retention'],
    discard: 'new' as StreamConfig['discard'],
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msg_size: opts.maxMsgSize ?? 1024 * 1024,
    num_replicas: opts.replicas ?? 1,
    duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    allow_direct: true,
    deny_delete: true,
    deny_purge: true,
  };
}

/** Create the stream, or bring an existing one's mutable settings up to date. Idempotent. */
export async function ensureEventStream(
  jsm: JetStreamManager,
  opts: EventStreamOptions = {},
): Promise<void> {
  await ensureStream(jsm, eventStreamConfig(opts));
}

/**
 * The streams around the log: the work queue of the agents (a message is removed once its agent
 * acknowledges it) and the durable intake of submissions (kept a week, so a scheduler outage
 * loses nothing). Both deduplicate by `Nats-Msg-Id`. Idempotent.
 */
export async function ensureFarmStreams(
  jsm: JetStreamManager,
  opts: EventStreamOptions = {},
): Promise<void> {
  await ensureEventStream(jsm, opts);
  const common = {
    storage: 'file' as StreamConfig['storage'],
    num_replicas: opts.replicas ?? 1,
    duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    max_msg_size: opts.maxMsgSize ?? 1024 * 1024,
  };
  await ensureStream(jsm, {
    ...common,
    name: WORK_STREAM,
    subjects: [WORK_WILDCARD],
    retention: 'workqueue' as StreamConfig['retention'],
  });
  await ensureStream(jsm, {
    ...common,
    name: INTAKE_STREAM,
    subjects: [INTAKE_SUBJECT],
    retention: 'limits' as StreamConfig['retention'],
    max_age: nanos(7 * 24 * 3600 * 1000),
  });
  await ensureRejectedStream(jsm, opts);
}

/** Rejected submissions, with their reason, for `drover audit` (kept 30 days, bounded). */
export async function ensureRejectedStream(
  jsm: JetStreamManager,
  opts: EventStreamOptions = {},
): Promise<void> {
  await ensureStream(jsm, {
    name: REJECTED_STREAM,
    subjects: [REJECTED_SUBJECT],
    storage: 'file' as StreamConfig['storage'],
    num_replicas: opts.replicas ?? 1,
    retention: 'limits' as StreamConfig['retention'],
    max_age: nanos(30 * 24 * 3600 * 1000),
    max_msgs: 1_000_000,
    max_msg_size: opts.maxMsgSize ?? 1024 * 1024,
  });
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>): Promise<void> {
  const name = config.name as string;
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) {
      await jsm.streams.add({ ...config, name });
      return;
    }
    throw err;
  }
  const { name: _n, storage: _s, ...mutable } = config;
  await jsm.streams.update(name, mutable);
}
