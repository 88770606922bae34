import { createHash } from 'node:crypto';
import type { AnyStateMachine } from 'xstate';
import {
  alertMachine,
  calendarMachine,
  chunkMachine,
  fromPlain,
  jobMachine,
  nodeMachine,
  policyMachine,
  promiseMachine,
  reservationMachine,
  runMachine,
  runbookMachine,
  sessionMachine,
  workerMachine,
  workflowMachine,
  type PlainSnapshot,
} from '../actors/index.js';
import type { Environment } from '../events/index.js';
import { emptyReadModel, type ReadModel } from './read-model.js';

/**
 * The read model as plain data, for start-up snapshots (the API's live model and the dashboard's
 * feed): a service loads the latest one and folds only the log's tail since its `seq`.
 *
 * A snapshot is a cache of a pure fold, so it is trusted only when it was written by the very
 * same folds: `readModelFingerprint()` hashes the snapshot format and every machine the read
 * model folds through (their config and the source of their guards and actions). A snapshot of
 * another fingerprint is ignored and the model rebuilt from the log, never mis-read. Bump
 * `READ_MODEL_FORMAT` when the shape below changes or a fold changes in a way the hash cannot see
 * (a helper a guard calls).
 *
 * Heartbeats are not events and are not kept: they come back within one heartbeat period.
 */
export const READ_MODEL_FORMAT = 2;

/** One entity: id, state value, context (what `toPlain` keeps of an xstate snapshot). */
type PlainEntry = [id: string, value: PlainSnapshot['value'], context: unknown];

interface PlainWorker {
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly environment?: Environment;
}

/** The read model as plain data (msgpack- and JSON-safe). */
export interface PlainReadModel {
  readonly seq: number;
  readonly skipped: number;
  readonly entities: Readonly<Record<MachineKey, PlainEntry[]>>;
  /** Worker extras by index into `entities.workers`. */
  readonly workerExtras: (PlainWorker | 0)[];
  /** `acceptedSeq` of each promise, by index into `entities.promises`. */
  readonly promiseSeqs: number[];
  /** Each job's `jobSeqs` entry (its place in the list), by index into `entities.jobs` (format 2). */
  readonly jobSeqs: number[];
  readonly liveChunks: [string, string][];
}

const MACHINES = {
  jobs: jobMachine,
  chunks: chunkMachine,
  workers: workerMachine,
  nodes: nodeMachine,
  calendars: calendarMachine,
  reservations: reservationMachine,
  alerts: alertMachine,
  runbooks: runbookMachine,
  sessions: sessionMachine,
  policies: policyMachine,
  workflows: workflowMachine,
  runs: runMachine,
  promises: promiseMachine,
} as const satisfies Record<string, AnyStateMachine>;
type MachineKey = keyof typeof MACHINES;
const KEYS = Object.keys(MACHINES) as MachineKey[];

let fingerprint: string | undefined;

/**
 * A short hash of the snapshot format and of every machine the read model folds through (their
 * definitions and the source text of their implementations). Computed once per process. Pure.
 */
export function readModelFingerprint(): string {
  if (fingerprint) return fingerprint;
  const hash = createHash('sha256').update(`format ${READ_MODEL_FORMAT}\n`);
  const withSource = (_: string, v: unknown) =>
    typeof v === 'function' ? `fn:${String(v)}` : (v as unknown);
  for (const key of KEYS) {
    const machine = MACHINES[key] as AnyStateMachine;
    hash.update(`${key}\n`);
    hash.update(JSON.stringify(machine.config, withSource) ?? '');
    hash.update(JSON.stringify(machine.implementations, withSource) ?? '');
  }
  fingerprint = hash.digest('hex').slice(0, 16);
  return fingerprint;
}

function plainEntries(
  map: ReadonlyMap<string, { value: unknown; context: unknown }>,
): PlainEntry[] {
  const out: PlainEntry[] = [];
  for (const [id, s] of map) out.push([id, s.value as PlainSnapshot['value'], s.context]);
  return out;
}

/**
 * The model as plain data. The snapshots' contexts are shared, not copied (they are immutable:
 * every transition makes a new one), so encode the result before folding on. Pure.
 */
export function plainReadModel(model: ReadModel): PlainReadModel {
  const workers = [...model.workers];
  const promises = [...model.promises];
  const entities = {} as Record<MachineKey, PlainEntry[]>;
  for (const key of KEYS) {
    if (key === 'workers')
      entities.workers = plainEntries(new Map(workers.map(([id, w]) => [id, w.snapshot])));
    else if (key === 'promises')
      entities.promises = plainEntries(new Map(promises.map(([id, p]) => [id, p.snapshot])));
    else entities[key] = plainEntries(model[key]);
  }
  return {
    seq: model.seq,
    skipped: model.skipped,
    entities,
    workerExtras: workers.map(([, w]) => {
      const extra: { -readonly [K in keyof PlainWorker]: PlainWorker[K] } = {};
      if (w.startedAt !== undefined) extra.startedAt = w.startedAt;
      if (w.endedAt !== undefined) extra.endedAt = w.endedAt;
      if (w.environment !== undefined) extra.environment = w.environment;
      return Object.keys(extra).length ? extra : 0;
    }),
    promiseSeqs: promises.map(([, p]) => p.acceptedSeq),
    jobSeqs: [...model.jobs.keys()].map((id) => model.jobSeqs.get(id) ?? 0),
    liveChunks: [...model.liveChunks],
  };
}

/** A field of a decoded snapshot that is not what `plainReadModel` writes. */
export class SnapshotShapeError extends Error {}

function need(ok: boolean, field: string): void {
  if (!ok) throw new SnapshotShapeError(`read model snapshot: bad ${field}`);
}

/**
 * The model a plain snapshot describes (heartbeats empty). Throws `SnapshotShapeError` naming the
 * field when the data is not a snapshot of this format. Pure.
 */
export function restoreReadModel(plain: PlainReadModel): ReadModel {
  need(typeof plain === 'object' && plain !== null, 'snapshot');
  need(Number.isInteger(plain.seq) && plain.seq >= 0, 'seq');
  need(Number.isInteger(plain.skipped), 'skipped');
  need(typeof plain.entities === 'object' && plain.entities !== null, 'entities');
  need(Array.isArray(plain.jobSeqs), 'jobSeqs');
  const model = emptyReadModel();
  model.seq = plain.seq;
  model.skipped = plain.skipped;
  for (const key of KEYS) {
    const list = plain.entities[key];
    need(Array.isArray(list), `entities.${key}`);
    const machine = MACHINES[key] as AnyStateMachine;
    list.forEach(([id, value, context], i) => {
      need(typeof id === 'string', `entities.${key}[${i}] id`);
      const snapshot = fromPlain(machine, { value, context: context as never });
      if (key === 'workers') {
        const extra = plain.workerExtras[i];
        need(extra !== undefined, `workerExtras[${i}]`);
        model.workers.set(id, { ...(extra || {}), snapshot } as never);
      } else if (key === 'promises') {
        const acceptedSeq = plain.promiseSeqs[i];
        need(typeof acceptedSeq === 'number', `promiseSeqs[${i}]`);
        model.promises.set(id, { snapshot, acceptedSeq } as never);
      } else if (key === 'jobs') {
        const seq = plain.jobSeqs[i];
        need(typeof seq === 'number', `jobSeqs[${i}]`);
        model.jobs.set(id, snapshot as never);
        model.jobSeqs.set(id, seq as number);
      } else (model[key] as Map<string, unknown>).set(id, snapshot);
    });
  }
  need(Array.isArray(plain.liveChunks), 'liveChunks');
  for (const [chunk, node] of plain.liveChunks) model.liveChunks.set(chunk, node);
  return model;
}
