import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import {
  EVENTS_STREAM,
  archiveSubjectOf,
  decodeEvent,
  isCorrupt,
  raiseReplicas,
  readArchivedSubject,
  type DecodeError,
  type RecordedEvent,
  type ReplayItem,
} from '../events/index.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './runner.js';

/** The KV bucket of projection checkpoints. */
export const CHECKPOINT_BUCKET = 'drover_projections';

/**
 * The read half of the checkpoint store: what a reader that must never write (the CLI) is
 * given, so that it cannot save a checkpoint even by mistake.
 */
export interface CheckpointReader {
  load(key: string): Promise<Checkpoint | undefined>;
}

/**
 * Where projection checkpoints live: one per `<name>-v<version>` key. Only the checkpoint writer
 * of a long-running service holds one (`startCheckpointWriter`); readers get a `CheckpointReader`.
 */
export interface ProjectionStore extends CheckpointReader {
  save(key: string, cp: Checkpoint): Promise<void>;
}

const manifestPackr = new Packr({ useRecords: false, mapsAsObjects: true });

interface Manifest {
  readonly parts: number;
  readonly gen: string;
  readonly bytes: number;
}

/**
 * Checkpoints in JetStream KV (`drover_projections`, history 1). A value larger than what the
 * server accepts in one message (1 MiB by default) is split into parts `<key>.<gen>.<i>`
 * written first, then a small manifest at `<key>` names them: a reader never sees half a
 * checkpoint, and old parts are deleted only after the new manifest is in place.
 */
export async function createKvProjectionStore(
  nc: NatsConnection,
  opts: { bucket?: string; maxPartBytes?: number; replicas?: number } = {},
): Promise<ProjectionStore> {
  const kv = await ensureCheckpointBucket(nc, opts);
  const fits = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - 16 * 1024);
  const maxPart = Math.min(fits, opts.maxPartBytes ?? fits);
  return new KvProjectionStoreImpl(kv, maxPart);
}

/**
 * The checkpoint bucket: created with `replicas` (default 1) when missing, an existing one bound
 * as it is, its replicas raised to `replicas` when asked and never lowered (`DROVER_REPLICAS`).
 */
export async function ensureCheckpointBucket(
  nc: NatsConnection,
  opts: { bucket?: string; replicas?: number } = {},
): Promise<KV> {
  const bucket = opts.bucket ?? CHECKPOINT_BUCKET;
  const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: opts.replicas ?? 1 });
  await raiseReplicas(await jetstreamManager(nc), `KV_${bucket}`, opts.replicas);
  return kv;
}

/**
 * Read checkpoints without creating or writing anything: the bucket is bound, not created, and a
 * missing bucket, or one this user has no right to read (a role of nats.roles.conf without it),
 * reads as no checkpoints: the caller folds from zero. What the CLI uses, so that `usage`,
 * `fairshare` and `replay` leave the service's checkpoints as they found them.
 */
export async function openKvCheckpointReader(
  nc: NatsConnection,
  opts: { bucket?: string } = {},
): Promise<CheckpointReader> {
  const kv = await new Kvm(nc).open(opts.bucket ?? CHECKPOINT_BUCKET);
  const impl = new KvProjectionStoreImpl(kv, Number.MAX_SAFE_INTEGER);
  return {
    async load(key) {
      try {
        return await impl.load(key);
      } catch (err) {
        if (/stream not found|permission/i.test((err as Error).message)) return undefined;
        throw err;
      }
    },
  };
}

/** Parts of one checkpoint read or written at once. */
const PARTS_IN_FLIGHT = 4;

/**
 * `op(0..n-1)`, at most PARTS_IN_FLIGHT at a time, results in order. Not all at once: each KV
 * request has its own 5 s timeout, and ~100 parts of 1 MiB asked together on one connection
 * (a 100,000-job start-up snapshot) did not all arrive within it even at load 4: the load timed
 * out and the service folded the whole log instead (bench:scrape, 2026-12-05).
 */
async function fewAtATime<T>(n: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await op(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, n) }, lane));
  return out;
}

class KvProjectionStoreImpl implements ProjectionStore {
  private gen = 0;
  constructor(
    private readonly kv: KV,
    private readonly maxPart: number,
  ) {}

  async load(key: string): Promise<Checkpoint | undefined> {
    const head = await this.kv.get(key);
    if (!head || head.operation !== 'PUT' || head.value.length === 0) return undefined;
    const bytes = head.value;
    const manifest = bytes[0] === 0xc1 ? this.manifest(bytes.subarray(1)) : undefined;
    if (!manifest) return decodeCheckpoint(bytes);
    const parts = await fewAtATime(manifest.parts, (i) =>
      this.kv.get(`${key}.${manifest.gen}.${i}`),
    );
    const all = new Uint8Array(manifest.bytes);
    let at = 0;
    for (const p of parts) {
      if (!p || p.operation !== 'PUT') return undefined;
      all.set(p.value, at);
      at += p.value.length;
    }
    return at === manifest.bytes ? decodeCheckpoint(all) : undefined;
  }

  async save(key: string, cp: Checkpoint): Promise<void> {
    const bytes = encodeCheckpoint(cp);
    const old = await this.kv.get(key).catch(() => null);
    const oldManifest =
      old && old.value[0] === 0xc1 ? this.manifest(old.value.subarray(1)) : undefined;
    if (bytes.length <= this.maxPart) {
      await this.kv.put(key, bytes);
    } else {
      const gen = `g${Date.now().toString(36)}${(this.gen++).toString(36)}`;
      const parts = Math.ceil(bytes.length / this.maxPart);
      await fewAtATime(parts, (i) =>
        this.kv.put(`${key}.${gen}.${i}`, bytes.subarray(i * this.maxPart, (i + 1) * this.maxPart)),
      );
      const manifest = manifestPackr.pack({ parts, gen, bytes: bytes.length } satisfies Manifest);
      // 0xc1 is never used by msgpack: it marks a manifest apart from a checkpoint.
      await this.kv.put(key, Uint8Array.of(0xc1, ...manifest));
    }
    if (oldManifest) {
      await Promise.all(
        Array.from({ length: oldManifest.parts }, (_, i) =>
          this.kv.purge(`${key}.${oldManifest.gen}.${i}`).catch(() => undefined),
        ),
      );
    }
  }

  private manifest(bytes: Uint8Array): Manifest | undefined {
    try {
      const m = manifestPackr.unpack(bytes) as Partial<Manifest>;
      return typeof m.parts === 'number' && typeof m.gen === 'string' && typeof m.bytes === 'number'
        ? (m as Manifest)
        : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Fetches events by stream sequence (for `drover audit`); corrupt ones are counted, not thrown. */
export interface EventFetcher {
  /**
   * `subjects`: the entities the sequences belong to; a sequence no longer in the live log (its
   * entity was compacted) is then read from the archive.
   */
  fetch(
    seqs: readonly number[],
    subjects?: readonly string[],
  ): Promise<{ events: RecordedEvent[]; corrupt: number[] }>;
}

/**
 * Direct get by sequence on the event stream (it has `allow_direct`), `window` requests in
 * flight: an audit of a few hundred events takes tens of milliseconds.
 */
export async function createEventFetcher(
  nc: NatsConnection,
  opts: { stream?: string; window?: number } = {},
): Promise<EventFetcher> {
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const stream = opts.stream ?? EVENTS_STREAM;
  const window = opts.window ?? 64;
  return {
    async fetch(seqs, subjects = []) {
      const events: RecordedEvent[] = [];
      const corrupt: number[] = [];
      const missing = new Set<number>();
      let next = 0;
      const lane = async () => {
        while (next < seqs.length) {
          const seq = seqs[next++] as number;
          const m = await jsm.direct.getMessage(stream, { seq });
          if (!m) {
            missing.add(seq);
            continue;
          }
          try {
            const e = decodeEvent(m.data, { subject: m.subject, seq: m.seq }) as RecordedEvent;
            (e as { recorded: RecordedEvent['recorded'] }).recorded = {
              subject: m.subject,
              seq: m.seq,
            };
            events.push(e);
          } catch {
            corrupt.push(seq);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, seqs.length) }, lane));
      if (missing.size > 0) {
        for (const item of await fetchArchived(nc, jsm, subjects, missing)) {
          if (isCorrupt(item)) corrupt.push(item.seq);
          else events.push(item);
        }
      }
      events.sort((a, b) => a.recorded.seq - b.recorded.seq);
      return { events, corrupt: corrupt.sort((a, b) => a - b) };
    },
  };
}

/** The archived events at `seqs` (original sequences) of `subjects` (live subjects). */
async function fetchArchived(
  nc: NatsConnection,
  jsm: JetStreamManager,
  subjects: readonly string[],
  seqs: ReadonlySet<number>,
): Promise<ReplayItem[]> {
  const out: ReplayItem[] = [];
  for (const subject of subjects) {
    for (const m of await readArchivedSubject(nc, jsm, archiveSubjectOf(subject))) {
      if (!seqs.has(m.seq)) continue;
      try {
        const e = decodeEvent(m.data, { subject: m.subject, seq: m.seq }) as RecordedEvent;
        (e as { recorded: RecordedEvent['recorded'] }).recorded = {
          subject: m.subject,
          seq: m.seq,
        };
        out.push(e);
      } catch (err) {
        out.push({ corrupt: true, subject: m.subject, seq: m.seq, error: err as DecodeError });
      }
    }
  }
  return out;
}
