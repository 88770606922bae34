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
  /**
   * Replicas to create with (default 1), and the least an existing stream keeps: raised to it,
   * never lowered (DESIGN.md: replica counts are the operator's, `DROVER_REPLICAS`).
   */
  readonly replicas?: number;
  /** Largest single event in bytes (the server's max_payload must allow it). */
  readonly maxMsgSize?: number;
  /** Window in which a repeated `Nats-Msg-Id` is recognised (default 2 min). */
  readonly duplicateWindowMs?: number;
}

/**
 * The `DROVER_EVENTS` stream: every event, file storage, no deletes (the log is the truth),
 * direct get for fast "last of subject" reads, duplicate window for idempotency. Purges are
 * allowed for one purpose: `drover compact` moves done entities to `DROVER_ARCHIVE` (copied and
 * checked first) and purges them by subject; who may purge is a permission (nats.roles.conf: the
 * admin). A stream created before compaction existed keeps its `deny_purge`, which JetStream
 * never lifts: such a farm is simply not compacted (`drover compact` says how to migrate).
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
    deny_purge: false,
  };
}

/** What the log's guarantees rest on: enforced on an existing event stream, the rest is tunable. */
const EVENT_STREAM_REQUIRED = ['subjects', 'allow_direct', 'deny_delete'] as const;

/**
 * Create the stream, or make an existing one keep what the log relies on (its subject, direct
 * get, no deletes) and at least `opts.replicas`. Settings an operator may tune (limits,
 * duplicate window, message size, replicas above the asked) are left as found. Idempotent.
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  opts: EventStreamOptions = {},
): Promise<void> {
  await ensureStream(jsm, eventStreamConfig(opts), EVENT_STREAM_REQUIRED, opts.replicas);
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
  const work = {
    ...common,
    name: WORK_STREAM,
    subjects: [WORK_WILDCARD],
    retention: 'workqueue' as StreamConfig['retention'],
  };
  await ensureStream(jsm, work, ['subjects'], opts.replicas);
  const intake = {
    ...common,
    name: INTAKE_STREAM,
    subjects: [INTAKE_SUBJECT],
    retention: 'limits' as StreamConfig['retention'],
    max_age: nanos(7 * 24 * 3600 * 1000),
  };
  await ensureStream(jsm, intake, ['subjects'], opts.replicas);
  await ensureRejectedStream(jsm, opts);
}

/** Rejected submissions, with their reason, for `drover audit` (kept 30 days, bounded). */
export async function ensureRejectedStream(
  jsm: JetStreamManager,
  opts: EventStreamOptions = {},
): Promise<void> {
  const rejected = {
    name: REJECTED_STREAM,
    subjects: [REJECTED_SUBJECT],
    storage: 'file' as StreamConfig['storage'],
    num_replicas: opts.replicas ?? 1,
    retention: 'limits' as StreamConfig['retention'],
    max_age: nanos(30 * 24 * 3600 * 1000),
    max_msgs: 1_000_000,
    max_msg_size: opts.maxMsgSize ?? 1024 * 1024,
  };
  await ensureStream(jsm, rejected, ['subjects'], opts.replicas);
}

/**
 * Create `config`, or update an existing stream only where it lacks a `required` setting or has
 * fewer replicas than `replicas`: the update carries the stream's own config otherwise, so an
 * operator's limits, placement or larger replica count survive every service start.
 */
async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig>,
  required: readonly (keyof StreamConfig)[],
  replicas: number | undefined,
): Promise<void> {
  const name = config.name as string;
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) {
      await jsm.streams.add({ ...config, name, num_replicas: replicas ?? 1 });
      return;
    }
    throw err;
  }
  const update: Partial<StreamConfig> = {};
  for (const key of required) {
    if (!sameSetting(existing[key], config[key])) Object.assign(update, { [key]: config[key] });
  }
  if (replicas !== undefined && existing.num_replicas < replicas) update.num_replicas = replicas;
  if (Object.keys(update).length === 0) return;
  const { name: _n, ...own } = existing;
  await jsm.streams.update(name, { ...own, ...update });
}

/**
 * Raise the replicas of an existing stream (a KV bucket's `KV_<bucket>`) to `replicas`; never
 * lowers them and changes nothing else. `@internal` for the KV adapters (lease, checkpoints).
 */
export async function raiseReplicas(
  jsm: JetStreamManager,
  stream: string,
  replicas: number | undefined,
): Promise<void> {
  if (replicas === undefined) return;
  const { config } = await jsm.streams.info(stream);
  if (config.num_replicas >= replicas) return;
  const { name: _n, ...own } = config;
  await jsm.streams.update(stream, { ...own, num_replicas: replicas });
}

function sameSetting(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b || (a === undefined && b === false) || (a === false && b === undefined);
}
