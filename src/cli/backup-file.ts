import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { ErrorCodes, SchedulerError, type StoredMessage } from '../events/index.js';

/**
 * The backup file: JSON Lines, streamed (never the whole log in memory).
 * - line 1, the header: `{ kind: "drover-backup", format: 1, createdAt, server, streams }`;
 * - then `{ kind: "kv", bucket, key, value }` and `{ kind: "msg", stream, seq, subject, time,
 *   headers?, data }` lines (values and bodies in base64);
 * - last, the trailer: `{ kind: "end", counts, sha256 }`, the SHA-256 of every byte before it.
 * A file without its trailer (a backup cut short) or with another checksum is refused whole.
 */
export const BACKUP_FORMAT = 1;

export interface BackupHeader {
  readonly kind: 'drover-backup';
  readonly format: number;
  readonly createdAt: string;
  readonly server: string | undefined;
  /** Per stream: the sequences the backup holds (`firstSeq..lastSeq`, holes included). */
  readonly streams: Record<string, { firstSeq: number; lastSeq: number }>;
}

export interface KvRecord {
  readonly kind: 'kv';
  readonly bucket: string;
  readonly key: string;
  readonly value: string;
}

export interface MsgRecord {
  readonly kind: 'msg';
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly time: number;
  readonly headers?: [string, string][];
  readonly data: string;
}

export interface BackupTrailer {
  readonly kind: 'end';
  readonly counts: Record<string, number>;
  readonly sha256: string;
}

export type BackupRecord = KvRecord | MsgRecord;

/** Writes a backup file line by line, hashing as it goes. */
export class BackupWriter {
  private readonly hash: Hash = createHash('sha256');
  private readonly out: WriteStream;
  readonly counts: Record<string, number> = {};

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'wx' });
  }

  async header(h: Omit<BackupHeader, 'kind' | 'format'>): Promise<void> {
    await this.line({ kind: 'drover-backup', format: BACKUP_FORMAT, ...h });
  }

  async kv(bucket: string, key: string, value: Uint8Array): Promise<void> {
    this.counts[`kv:${bucket}`] = (this.counts[`kv:${bucket}`] ?? 0) + 1;
    const rec: KvRecord = { kind: 'kv', bucket, key, value: Buffer.from(value).toString('base64') };
    await this.line(rec);
  }

  async msg(stream: string, m: StoredMessage): Promise<void> {
    this.counts[stream] = (this.counts[stream] ?? 0) + 1;
    const rec: MsgRecord = {
      kind: 'msg',
      stream,
      seq: m.seq,
      subject: m.subject,
      time: m.time,
      ...(m.headers ? { headers: m.headers } : {}),
      data: Buffer.from(m.data).toString('base64'),
    };
    await this.line(rec);
  }

  async end(): Promise<BackupTrailer> {
    const trailer: BackupTrailer = {
      kind: 'end',
      counts: this.counts,
      sha256: this.hash.digest('hex'),
    };
    this.out.write(JSON.stringify(trailer) + '\n');
    this.out.end();
    await once(this.out, 'finish');
    return trailer;
  }

  private async line(value: object): Promise<void> {
    const text = JSON.stringify(value) + '\n';
    this.hash.update(text);
    if (!this.out.write(text)) await once(this.out, 'drain');
  }
}

/** The stored message of a `msg` record. */
export function storedMessageOf(r: MsgRecord): StoredMessage {
  return {
    seq: r.seq,
    subject: r.subject,
    time: r.time,
    ...(r.headers ? { headers: r.headers } : {}),
    data: new Uint8Array(Buffer.from(r.data, 'base64')),
  };
}

/**
 * Read a backup file: the header, then each record (in file order), then the trailer, checking
 * the checksum and the counts. `onRecord` may be async; it is awaited line by line. Throws
 * BAD_INPUT for a file that is not a whole, unaltered backup.
 */
export async function readBackup(
  path: string,
  onRecord: (r: BackupRecord, header: BackupHeader) => Promise<void> | void,
): Promise<{ header: BackupHeader; trailer: BackupTrailer }> {
  const hash = createHash('sha256');
  const counts: Record<string, number> = {};
  let header: BackupHeader | undefined;
  let trailer: BackupTrailer | undefined;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (trailer) throw bad(path, `line ${n}: data after the trailer`);
    const rec = parseLine(path, n, text);
    if (n === 1) {
      if (rec.kind !== 'drover-backup') throw bad(path, 'not a drover backup (no header)');
      if (rec.format !== BACKUP_FORMAT) throw bad(path, `format ${String(rec.format)} unknown`);
      header = rec as unknown as BackupHeader;
    } else if (rec.kind === 'end') {
      trailer = rec as unknown as BackupTrailer;
      continue;
    } else if (rec.kind === 'kv' || rec.kind === 'msg') {
      const key = rec.kind === 'kv' ? `kv:${String(rec.bucket)}` : String(rec.stream);
      counts[key] = (counts[key] ?? 0) + 1;
      await onRecord(rec as unknown as BackupRecord, header as BackupHeader);
    } else throw bad(path, `line ${n}: unknown record kind ${String(rec.kind)}`);
    hash.update(text + '\n');
  }
  if (!header) throw bad(path, 'empty file');
  if (!trailer) throw bad(path, 'no trailer: the backup was cut short');
  const sum = hash.digest('hex');
  if (sum !== trailer.sha256) throw bad(path, `checksum mismatch (${sum} != ${trailer.sha256})`);
  if (JSON.stringify(sortKeys(counts)) !== JSON.stringify(sortKeys(trailer.counts)))
    throw bad(path, 'record counts differ from the trailer');
  return { header, trailer };
}

function parseLine(path: string, n: number, text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw bad(path, `line ${n} is not a JSON record`);
}

function sortKeys(o: Record<string, number>): [string, number][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}

function bad(path: string, why: string): SchedulerError {
  return new SchedulerError(ErrorCodes.BadInput, `${path}: ${why}`);
}
