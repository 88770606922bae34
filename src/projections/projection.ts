import type { EventOf, EventType, RecordedEvent } from '../events/index.js';

/** A plain JSON value: what a projection's snapshot is made of (checkpoints, verify, diffs). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One recorded event of one type (the event plus its subject and sequence). */
export type RecordedOf<T extends EventType> = EventOf<T> & Pick<RecordedEvent, 'recorded'>;

/**
 * A projection as data (STYLE.md §8.4): a pure fold over the whole log.
 *
 * Ownership: `apply` MAY mutate the state it is given and returns it (usually the same object).
 * The state belongs to whoever folds it; to keep a copy, take `snapshot(s)` (a fresh JSON value)
 * and `restore` it later. This is what lets all projections together keep up with the raw
 * read+decode rate over millions of events. Everything is pure: no clock (queries take `now`),
 * no I/O, and the result depends only on the events in log order.
 *
 * Invariant (property-tested): `restore(JSON round trip of snapshot(fold(prefix)))` then the
 * rest equals `fold(all)`, and `snapshot` of equal histories are deep-equal.
 */
export interface Projection<S> {
  readonly name: string;
  /** Bump when the state shape or the fold changes: checkpoints of other versions are ignored. */
  readonly version: number;
  initial(): S;
  apply(s: S, e: RecordedEvent): S;
  /** A fresh JSON copy of the state (no shared references with `s`). */
  snapshot(s: S): Json;
  /** The state a snapshot describes; `restore(snapshot(s))` folds exactly like `s`. */
  restore(j: Json): S;
  /**
   * Optional fast path: the handler table `apply` is built from (`applyWith`). A fold over many
   * projections reads each event's type once and calls these directly; same result as `apply`.
   */
  readonly handlers?: Handlers<S>;
}

/** Per event type, the handler of a projection (a lookup table, faster than a string switch). */
export type Handlers<S> = { readonly [T in EventType]?: (s: S, e: RecordedOf<T>) => void };

/**
 * Build `apply` from a handler table: unhandled types leave the state as it is. Pure.
 * @internal
 */
export function applyWith<S>(handlers: Handlers<S>): (s: S, e: RecordedEvent) => S {
  const table = handlers as Readonly<
    Record<string, ((s: S, e: RecordedEvent) => void) | undefined>
  >;
  return (s, e) => {
    const h = table[e.type];
    if (h !== undefined) h(s, e);
    return s;
  };
}

/** A Map as JSON entries, in insertion order (the order the fold created them). @internal */
export function mapToJson<V>(m: ReadonlyMap<string, V>, value: (v: V) => Json): Json {
  const out: Json[] = [];
  for (const [k, v] of m) out.push([k, value(v)]);
  return out;
}

/** The inverse of `mapToJson`. @internal */
export function mapFromJson<V>(j: Json | undefined, value: (v: Json) => V): Map<string, V> {
  const m = new Map<string, V>();
  if (!Array.isArray(j)) return m;
  for (const entry of j) {
    if (Array.isArray(entry)) m.set(String(entry[0]), value(entry[1] ?? null));
  }
  return m;
}

/** A JSON value as an object (empty when it is not one). @internal */
export function obj(j: Json | undefined): { [k: string]: Json } {
  return j !== null && typeof j === 'object' && !Array.isArray(j) ? j : {};
}

/** A JSON value as an array (empty when it is not one). @internal */
export function arr(j: Json | undefined): Json[] {
  return Array.isArray(j) ? j : [];
}

/** A JSON value as a number (0 when it is not one). @internal */
export function num(j: Json | undefined): number {
  return typeof j === 'number' ? j : 0;
}

/** Deep copy of a JSON-compatible value (event data kept in a state). @internal */
export function copyJson<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** `<jobId>` of a chunk id `<jobId>:<i>` or worker id `<jobId>:<i>:<a>`. Pure. @internal */
export function jobOf(id: string): string {
  const at = id.indexOf(':');
  return at < 0 ? id : id.slice(0, at);
}

let lastSubject = '';
let lastId = '';

/**
 * The id part of an event subject `drover.ev.<entity>.<id>`. Pure (a one-entry memo: every
 * projection asks for the id of the same event in turn). @internal
 */
export function idOf(subject: string): string {
  if (subject !== lastSubject) {
    lastId = subject.slice(subject.indexOf('.', 10) + 1);
    lastSubject = subject;
  }
  return lastId;
}
