import { Packr } from 'msgpackr';
import type { CorruptMessage, RecordedEvent, ReplayItem } from '../events/index.js';
import type { Json, Projection } from './projection.js';

/** Corrupt positions remembered (the count is exact, the list bounded). */
const CORRUPT_KEPT = 100;

/** One projection in a set: its state and the last sequence folded into it. */
export interface Slot {
  readonly projection: Projection<unknown>;
  state: unknown;
  seq: number;
}

/**
 * Several projections folded together over one pass of the log. Owned and mutated by
 * `foldItems` (pure otherwise: no I/O, no clock). `seq` is the last sequence seen (corrupt
 * messages included); a slot restored from a later checkpoint skips what it already has.
 */
export interface ProjectionSet {
  readonly slots: Slot[];
  seq: number;
  events: number;
  corrupt: number;
  corruptSeqs: number[];
}

/** A saved state: the projection's snapshot after folding through `seq`. */
export interface Checkpoint {
  readonly name: string;
  readonly version: number;
  readonly seq: number;
  readonly state: Json;
}

/** The KV key of a projection's checkpoint: `<name>-v<version>` (a new version rebuilds). */
export function checkpointKey(p: { name: string; version: number }): string {
  return `${p.name}-v${p.version}`;
}

/**
 * A set starting from zero, or from checkpoints where one of the same name and version is
 * given (others start from zero). Pure.
 */
export function createProjectionSet(
  projections: readonly Projection<unknown>[],
  checkpoints: ReadonlyMap<string, Checkpoint> = new Map(),
): ProjectionSet {
  const slots = projections.map((projection): Slot => {
    const cp = checkpoints.get(checkpointKey(projection));
    return cp && cp.version === projection.version && cp.name === projection.name
      ? { projection, state: projection.restore(cp.state), seq: cp.seq }
      : { projection, state: projection.initial(), seq: 0 };
  });
  const set: ProjectionSet = { slots, seq: 0, events: 0, corrupt: 0, corruptSeqs: [] };
  set.seq = resumeSeq(set);
  return set;
}

/** The sequence a replay must start after so that every slot is complete. Pure. */
export function resumeSeq(set: ProjectionSet): number {
  let min = Infinity;
  for (const s of set.slots) if (s.seq < min) min = s.seq;
  return Number.isFinite(min) ? min : 0;
}

/**
 * Fold replayed items into every slot (mutates `set`). Corrupt messages are counted and
 * skipped, never thrown; items at or below a slot's sequence are skipped for that slot, so
 * resuming from mixed checkpoints and re-delivered items are harmless.
 */
export function foldItems(set: ProjectionSet, items: readonly ReplayItem[]): void {
  const slots = set.slots;
  const n = slots.length;
  const tables = slots.map((s) => s.projection.handlers as HandlerTable | undefined);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as ReplayItem;
    // One property read per event: a corrupt report has no `type` (cheaper than `corrupt`,
    // which every event lacks and which V8 then looks up the slow way).
    const type = (item as { type?: string }).type;
    if (type === undefined) {
      foldCorrupt(set, item as CorruptMessage);
      continue;
    }
    const e = item as RecordedEvent;
    const seq = e.recorded.seq;
    let applied = false;
    for (let k = 0; k < n; k++) {
      const slot = slots[k] as Slot;
      if (seq <= slot.seq) continue;
      const table = tables[k];
      if (table === undefined) slot.state = slot.projection.apply(slot.state, e);
      else {
        const h = table[type];
        if (h !== undefined) h(slot.state, e);
      }
      slot.seq = seq;
      applied = true;
    }
    if (applied) set.events++;
    if (seq > set.seq) set.seq = seq;
  }
}

type HandlerTable = Readonly<Record<string, ((s: unknown, e: RecordedEvent) => void) | undefined>>;

function foldCorrupt(set: ProjectionSet, item: CorruptMessage): void {
  if (item.seq > set.seq) {
    set.corrupt++;
    if (set.corruptSeqs.length < CORRUPT_KEPT) set.corruptSeqs.push(item.seq);
    set.seq = item.seq;
  }
  for (const slot of set.slots) if (item.seq > slot.seq) slot.seq = item.seq;
}

/** The slot of the projection called `name`. */
export function slotOf(set: ProjectionSet, name: string): Slot | undefined {
  return set.slots.find((s) => s.projection.name === name);
}

/** Checkpoints of every slot as it stands (fresh JSON copies). Pure. */
export function checkpointsOf(set: ProjectionSet): Checkpoint[] {
  return set.slots.map((s) => ({
    name: s.projection.name,
    version: s.projection.version,
    seq: s.seq,
    state: s.projection.snapshot(s.state),
  }));
}

const packr = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

/** A checkpoint as bytes (msgpack of `{ name, version, seq, state }`). Pure. */
export function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  return packr.pack(cp);
}

/** The inverse of `encodeCheckpoint`; undefined when the bytes are not a checkpoint. Pure. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint | undefined {
  try {
    const cp = packr.unpack(bytes) as Partial<Checkpoint> | null;
    if (!cp || typeof cp.name !== 'string' || typeof cp.version !== 'number') return undefined;
    if (typeof cp.seq !== 'number') return undefined;
    return { name: cp.name, version: cp.version, seq: cp.seq, state: (cp.state ?? null) as Json };
  } catch {
    return undefined;
  }
}

/** One difference between two JSON values: where, and both sides. */
export interface JsonDiff {
  path: string;
  live: Json | undefined;
  rebuilt: Json | undefined;
}

/**
 * Differences between `live` and `rebuilt` (deep, exact; at most `max`, depth-first in key
 * order). Pure. Empty means deep-equal.
 */
export function diffJson(
  live: Json | undefined,
  rebuilt: Json | undefined,
  max = 20,
  path = '$',
): JsonDiff[] {
  const out: JsonDiff[] = [];
  walk(live, rebuilt, path, out, max);
  return out;
}

function walk(
  a: Json | undefined,
  b: Json | undefined,
  path: string,
  out: JsonDiff[],
  max: number,
): void {
  if (out.length >= max || Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length)
      out.push({ path: `${path}.length`, live: a.length, rebuilt: b.length });
    for (let i = 0; i < Math.min(a.length, b.length) && out.length < max; i++)
      walk(a[i], b[i], `${path}[${i}]`, out, max);
    return;
  }
  const isObj = (x: Json | undefined) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, Json>;
    const bo = b as Record<string, Json>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    for (const k of keys) walk(ao[k], bo[k], `${path}.${k}`, out, max);
    return;
  }
  if (a === 0 && b === 0) return;
  out.push({ path, live: a, rebuilt: b });
}
