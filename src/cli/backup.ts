import { jetstreamManager, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  EVENTS_STREAM,
  EXPECTED_SEQ_HEADER,
  ErrorCodes,
  ExactStreamWriter,
  INTAKE_STREAM,
  REJECTED_STREAM,
  SchedulerError,
  ensureFarmStreams,
  eventStreamConfig,
  readStoredMessages,
  type StoredMessage,
} from '../events/index.js';
import { CHECKPOINT_BUCKET } from '../projections/index.js';
import { LEASE_BUCKET } from '../scheduler/lease.jetstream.js';
import { BackupWriter, readBackup, storedMessageOf, type BackupTrailer } from './backup-file.js';

/** What a backup or a restore did, for the command's output. */
export interface BackupSummary {
  readonly file: string;
  readonly streams: Record<string, { firstSeq: number; lastSeq: number; messages: number }>;
  readonly kv: Record<string, number>;
  readonly leaseEpoch?: number;
  readonly sha256: string;
}

const INTAKE_CONSUMER = 'scheduler';
/** The lease's key (the scheduler's `lease.jetstream.ts`). */
const LEASE_KEY = 'leader';

/**
 * Back up what a farm needs to resume: the lease (its fencing epoch), the projection
 * checkpoints, the event stream from its first sequence, the intake's messages the scheduler has
 * not acknowledged, and the rejected submissions. Read in that order, so that a backup of a
 * running farm is consistent: every checkpoint is at or before the log's end in the file, and a
 * submission processed while the log is read is either in the log or still in the intake (whose
 * job ids derive from its sequence, so processing it again after a restore is idempotent).
 */
export async function backupFarm(nc: NatsConnection, file: string): Promise<BackupSummary> {
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(nc);
  const buckets = new Map<string, [string, Uint8Array][]>();
  for (const bucket of [LEASE_BUCKET, CHECKPOINT_BUCKET]) {
    buckets.set(bucket, await readBucket(kvm, bucket));
  }
  const intakeFrom = await intakeResumeSeq(jsm);
  const ranges: Record<string, { firstSeq: number; lastSeq: number }> = {};
  const events = await streamState(jsm, EVENTS_STREAM);
  if (!events) throw new SchedulerError(ErrorCodes.NotFound, `no stream ${EVENTS_STREAM}`);
  ranges[EVENTS_STREAM] = { firstSeq: 1, lastSeq: events.lastSeq };
  for (const [stream, from] of [
    [INTAKE_STREAM, intakeFrom],
    [REJECTED_STREAM, undefined],
  ] as const) {
    const st = await streamState(jsm, stream);
    if (st)
      ranges[stream] = {
        firstSeq: Math.max(from ?? st.firstSeq, st.firstSeq),
        lastSeq: st.lastSeq,
      };
  }
  const out = new BackupWriter(file);
  await out.header({
    createdAt: new Date().toISOString(),
    server: nc.info?.version,
    streams: ranges,
  });
  for (const [bucket, entries] of buckets) for (const [k, v] of entries) await out.kv(bucket, k, v);
  for (const [stream, r] of Object.entries(ranges)) {
    const range = { fromSeq: r.firstSeq, untilSeq: r.lastSeq };
    for await (const batch of readStoredMessages(nc, stream, range)) {
      for (const m of batch) await out.msg(stream, m);
    }
  }
  const trailer = await out.end();
  return summary(file, ranges, trailer, leaseEpochOf(buckets.get(LEASE_BUCKET)));
}

async function readBucket(kvm: Kvm, bucket: string): Promise<[string, Uint8Array][]> {
  let kv;
  try {
    kv = await kvm.open(bucket);
    await kv.status();
  } catch {
    return []; // never created on this farm
  }
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  const out: [string, Uint8Array][] = [];
  for (const k of keys.sort()) {
    const e = await kv.get(k);
    if (e && e.operation === 'PUT') out.push([k, e.value]);
  }
  return out;
}

/** The first intake sequence the scheduler has not acknowledged (undefined: from the start). */
async function intakeResumeSeq(jsm: JetStreamManager): Promise<number | undefined> {
  try {
    const info = await jsm.consumers.info(INTAKE_STREAM, INTAKE_CONSUMER);
    return info.ack_floor.stream_seq + 1;
  } catch (err) {
    if (err instanceof JetStreamApiError) return undefined;
    throw err;
  }
}

async function streamState(
  jsm: JetStreamManager,
  stream: string,
): Promise<{ firstSeq: number; lastSeq: number; messages: number } | undefined> {
  try {
    const { state } = await jsm.streams.info(stream);
    return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages };
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) return undefined;
    throw err;
  }
}

function leaseEpochOf(entries: [string, Uint8Array][] | undefined): number | undefined {
  const v = entries?.find(([k]) => k === LEASE_KEY)?.[1];
  if (!v) return undefined;
  try {
    const epoch = (JSON.parse(new TextDecoder().decode(v)) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' ? epoch : undefined;
  } catch {
    return undefined;
  }
}

function summary(
  file: string,
  ranges: Record<string, { firstSeq: number; lastSeq: number }>,
  trailer: BackupTrailer,
  leaseEpoch: number | undefined,
): BackupSummary {
  const streams: BackupSummary['streams'] = {};
  for (const [s, r] of Object.entries(ranges))
    streams[s] = { ...r, messages: trailer.counts[s] ?? 0 };
  const kv: Record<string, number> = {};
  for (const [k, n] of Object.entries(trailer.counts)) if (k.startsWith('kv:')) kv[k.slice(3)] = n;
  return {
    file,
    streams,
    kv,
    ...(leaseEpoch !== undefined && { leaseEpoch }),
    sha256: trailer.sha256,
  };
}

/**
 * Restore a backup into a farm whose event stream is empty or absent (refused otherwise: a
 * non-empty stream cannot take the events at their original sequences, which checkpoints,
 * chains and events themselves refer to). The file is read twice: once to check it whole (the
 * checksum) and find its holes, once to store it. Each stream gets its messages at their original
 * sequences, holes included; the lease gets an epoch at least the backup's, released, so the
 * next scheduler takes over above every epoch of the old farm.
 */
export async function restoreFarm(
  nc: NatsConnection,
  file: string,
  opts: { replicas?: number } = {},
): Promise<BackupSummary> {
  const holeSubjects = await scanBackup(file);
  const jsm = await jetstreamManager(nc);
  await refuseNonEmpty(jsm);
  const replicas = opts.replicas ?? 1;
  // Deletes are allowed until the holes are reproduced; `ensureFarmStreams` denies them after.
  const config = { ...eventStreamConfig({ replicas }), name: EVENTS_STREAM };
  await jsm.streams.add({ ...config, deny_delete: false, deny_purge: false });
  const kvm = new Kvm(nc);
  let leaseEpoch: number | undefined;
  let current: { stream: string; writer: ExactStreamWriter } | undefined;
  // Records come stream by stream, the events first: each stream is finished (its tail holes
  // reproduced, fillers deleted) before the next begins.
  const finish = async (lastSeqOf: (s: string) => number) => {
    if (!current) return;
    await current.writer.finish(lastSeqOf(current.stream));
    current = undefined;
    await ensureFarmStreams(jsm, { replicas }); // the log denies deletes from here on
  };
  const { header, trailer } = await readBackup(file, async (r, h) => {
    if (r.kind === 'kv') {
      const value = new Uint8Array(Buffer.from(r.value, 'base64'));
      if (r.bucket === LEASE_BUCKET && r.key === LEASE_KEY) {
        leaseEpoch = await restoreLease(kvm, value, replicas);
      } else await (await kvm.create(r.bucket, { history: 1, replicas })).put(r.key, value);
      return;
    }
    if (current?.stream !== r.stream) {
      await finish((s) => h.streams[s]?.lastSeq ?? 0);
      if (r.stream !== EVENTS_STREAM) await ensureFarmStreams(jsm, { replicas });
      const holes = r.stream === EVENTS_STREAM ? holeSubjects : new Map<number, string>();
      const writer = new ExactStreamWriter(nc, jsm, r.stream, holes, fillerSubject(r.stream));
      if (r.stream !== EVENTS_STREAM) await writer.startAt(h.streams[r.stream]?.firstSeq ?? 1);
      current = { stream: r.stream, writer };
    }
    await current.writer.write(storedMessageOf(r));
  });
  await finish((s) => header.streams[s]?.lastSeq ?? 0);
  await ensureFarmStreams(jsm, { replicas });
  return summary(file, header.streams, trailer, leaseEpoch);
}

/** Pass one: the file is whole, and for each hole in the log, the subject whose chain names it. */
async function scanBackup(file: string): Promise<Map<number, string>> {
  const holeSubjects = new Map<number, string>();
  const missing = new Set<number>();
  let next = 1;
  await readBackup(file, (r) => {
    if (r.kind !== 'msg' || r.stream !== EVENTS_STREAM) return;
    for (; next < r.seq; next++) missing.add(next);
    next = r.seq + 1;
    const prev = r.headers?.find(([k]) => k === EXPECTED_SEQ_HEADER)?.[1];
    if (prev !== undefined && missing.has(Number(prev))) holeSubjects.set(Number(prev), r.subject);
  });
  return holeSubjects;
}

async function refuseNonEmpty(jsm: JetStreamManager): Promise<void> {
  for (const stream of [EVENTS_STREAM, INTAKE_STREAM, REJECTED_STREAM]) {
    const st = await streamState(jsm, stream);
    if (!st) continue;
    if (st.lastSeq > 0) {
      throw new SchedulerError(
        ErrorCodes.Refused,
        `${stream} is not empty (last seq ${st.lastSeq}): restore only into a farm with no events (remove its streams first)`,
      );
    }
    // Empty: re-created below with the settings a restore needs.
    await jsm.streams.delete(stream);
  }
}

/** The lease, released, at an epoch no lower than the backup's or the target's. */
async function restoreLease(kvm: Kvm, value: Uint8Array, replicas: number): Promise<number> {
  const kv = await kvm.create(LEASE_BUCKET, { history: 1, replicas });
  const backed = leaseEpochOf([[LEASE_KEY, value]]) ?? 0;
  const existing = await kv.get(LEASE_KEY);
  const here =
    existing?.operation === 'PUT' ? (leaseEpochOf([[LEASE_KEY, existing.value]]) ?? 0) : 0;
  const epoch = Math.max(backed, here);
  await kv.put(LEASE_KEY, JSON.stringify({ holder: 'drover restore', epoch, released: true }));
  return epoch;
}

/** Where a filler for a hole nobody's chain names is stored (deleted at the end). */
function fillerSubject(stream: string): string {
  if (stream === EVENTS_STREAM) return 'drover.ev.job.restore-filler';
  if (stream === INTAKE_STREAM) return 'drover.intake.submit';
  return 'drover.events.rejected';
}

export type { StoredMessage };
