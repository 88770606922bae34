/**
 * Proof that the log is whole. Pure: no I/O, no clock.
 *
 * Two facts make a hole visible without any field in the envelope:
 * - `DROVER_EVENTS` keeps every message (no limits, `deny_delete`; a compaction moves whole
 *   entities to `DROVER_ARCHIVE` and readers merge them back at their sequences), so its
 *   stream sequences run 1, 2, 3, … with no gap; a missing sequence is a lost message.
 * - Every append is conditional: it carries `Nats-Expected-Last-Subject-Sequence`, the stream
 *   sequence of the entity's previous event, and JetStream stores that header with the message
 *   (checked on nats-server 2.9.10 and 2.15.3). Each event thus points at its predecessor on its
 *   subject: a chain per entity, written by every Drover that ever ran, at no cost. A break in
 *   the chain names the entity that lost an event, which the stream gap alone cannot (the lost
 *   message took its subject with it).
 */

/** One stored message as the checker sees it. */
export interface LogEntry {
  readonly subject: string;
  readonly seq: number;
  /** The expected last subject sequence it was appended with; undefined: unconditional. */
  readonly prev?: number | undefined;
  /** The event id (undefined when undecodable). */
  readonly id?: string | undefined;
  /** Why it could not be decoded, when it could not. */
  readonly undecodable?: string | undefined;
}

/** Stream sequences `fromSeq..toSeq` are missing; `subjects` lost an event in that range. */
export interface LogHole {
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Entities whose chain points into the hole (empty: the lost events' entities are unknown). */
  readonly subjects: string[];
}

/** An entity's chain does not match what the log holds, and no missing sequence explains it. */
export interface ChainBreak {
  readonly subject: string;
  readonly seq: number;
  /** What the event says its predecessor was. */
  readonly prev: number;
  /** The entity's previous message actually found (0: none). */
  readonly found: number;
}

export interface DuplicateEvent {
  readonly id: string;
  readonly subject: string;
  readonly firstSeq: number;
  readonly seq: number;
}

export interface UndecodableMessage {
  readonly subject: string;
  readonly seq: number;
  readonly message: string;
}

/** What a walk over the log found. `whole` is true when every list below is empty. */
export interface IntegrityReport {
  readonly whole: boolean;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly messages: number;
  readonly subjects: number;
  /** Messages stored without an expected sequence (not a fault: nothing to check them by). */
  readonly unchained: number;
  readonly holes: LogHole[];
  readonly breaks: ChainBreak[];
  readonly duplicates: DuplicateEvent[];
  readonly undecodable: UndecodableMessage[];
  /** Per list, how many were found beyond the kept `limit`. */
  readonly truncated: { holes: number; breaks: number; duplicates: number; undecodable: number };
}

/** The running state of a check (owned by `observe`; create with `startIntegrityCheck`). */
export interface IntegrityCheck {
  readonly fromSeq: number;
  readonly limit: number;
  next: number;
  messages: number;
  unchained: number;
  readonly last: Map<string, number>;
  readonly ids: Map<string, number>;
  readonly holes: { fromSeq: number; toSeq: number; subjects: Set<string> }[];
  readonly breaks: ChainBreak[];
  readonly duplicates: DuplicateEvent[];
  readonly undecodable: UndecodableMessage[];
  readonly over: { holes: number; breaks: number; duplicates: number; undecodable: number };
}

/**
 * A check of the log from `fromSeq` (default 1: the whole log). Reports are kept up to `limit`
 * per kind (counted beyond). Memory: one number per entity and one per event id (duplicates).
 */
export function startIntegrityCheck(
  opts: { fromSeq?: number; limit?: number } = {},
): IntegrityCheck {
  const fromSeq = opts.fromSeq ?? 1;
  return {
    fromSeq,
    limit: opts.limit ?? 1_000,
    next: fromSeq,
    messages: 0,
    unchained: 0,
    last: new Map(),
    ids: new Map(),
    holes: [],
    breaks: [],
    duplicates: [],
    undecodable: [],
    over: { holes: 0, breaks: 0, duplicates: 0, undecodable: 0 },
  };
}

/** Feed the next stored message, in stream order (mutates `c`). Pure.. */
export function observeEntry(c: IntegrityCheck, e: LogEntry): void {
  if (e.seq > c.next) addHole(c, c.next, e.seq - 1);
  if (e.seq >= c.next) c.next = e.seq + 1;
  c.messages++;
  if (e.undecodable !== undefined) {
    keep(c, 'undecodable', { subject: e.subject, seq: e.seq, message: e.undecodable });
  }
  if (e.id !== undefined) {
    const first = c.ids.get(e.id);
    if (first === undefined) c.ids.set(e.id, e.seq);
    else keep(c, 'duplicates', { id: e.id, subject: e.subject, firstSeq: first, seq: e.seq });
  }
  checkChain(c, e);
  c.last.set(e.subject, e.seq);
}

function checkChain(c: IntegrityCheck, e: LogEntry): void {
  if (e.prev === undefined) {
    c.unchained++;
    return;
  }
  const found = c.last.get(e.subject);
  // Started mid-log: a predecessor before the start cannot be checked.
  if (found === undefined && e.prev < c.fromSeq && c.fromSeq > 1) return;
  if (e.prev === (found ?? 0)) return;
  const hole = e.prev > (found ?? 0) ? holeAt(c, e.prev) : undefined;
  if (hole) hole.subjects.add(e.subject);
  else keep(c, 'breaks', { subject: e.subject, seq: e.seq, prev: e.prev, found: found ?? 0 });
}

/** The hole containing `seq` (holes are found in order, so they are sorted). */
function holeAt(c: IntegrityCheck, seq: number): IntegrityCheck['holes'][number] | undefined {
  let lo = 0;
  let hi = c.holes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const h = c.holes[mid] as IntegrityCheck['holes'][number];
    if (seq < h.fromSeq) hi = mid - 1;
    else if (seq > h.toSeq) lo = mid + 1;
    else return h;
  }
  return undefined;
}

function addHole(c: IntegrityCheck, fromSeq: number, toSeq: number): void {
  // Every hole is kept (chains are matched against them); the report bounds its list.
  c.holes.push({ fromSeq, toSeq, subjects: new Set() });
}

function keep<K extends 'breaks' | 'duplicates' | 'undecodable'>(
  c: IntegrityCheck,
  kind: K,
  item: IntegrityCheck[K][number],
): void {
  if (c[kind].length < c.limit) (c[kind] as IntegrityCheck[K][number][]).push(item);
  else c.over[kind]++;
}

/**
 * The report, given the stream's last sequence when the walk began (the messages after the last
 * one seen, up to it, are missing too).
 */
export function finishIntegrityCheck(c: IntegrityCheck, lastSeq: number): IntegrityReport {
  if (lastSeq >= c.next) addHole(c, c.next, lastSeq);
  const holes = c.holes
    .slice(0, c.limit)
    .map((h) => ({ fromSeq: h.fromSeq, toSeq: h.toSeq, subjects: [...h.subjects].sort() }));
  const over = { ...c.over, holes: Math.max(0, c.holes.length - c.limit) };
  const whole = c.holes.length + c.breaks.length + c.duplicates.length + c.undecodable.length === 0;
  return {
    whole,
    firstSeq: c.fromSeq,
    lastSeq: Math.max(lastSeq, c.next - 1),
    messages: c.messages,
    subjects: c.last.size,
    unchained: c.unchained,
    holes,
    breaks: c.breaks,
    duplicates: c.duplicates,
    undecodable: c.undecodable,
    truncated: over,
  };
}

/** Check a whole list at once (tests, small logs). */
export function checkLog(entries: Iterable<LogEntry>, lastSeq: number): IntegrityReport {
  const c = startIntegrityCheck();
  for (const e of entries) observeEntry(c, e);
  return finishIntegrityCheck(c, lastSeq);
}

/**
 * The stream sequences missing between `expected` (the next one due) and `seq` (the one read),
 * or undefined when there is none: the check the projection runner makes on every message.
 */
export function gapBefore(
  expected: number,
  seq: number,
): { fromSeq: number; toSeq: number } | undefined {
  return seq > expected ? { fromSeq: expected, toSeq: seq - 1 } : undefined;
}
