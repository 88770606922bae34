import type { SettledState } from '../events/index.js';

/** What a job knows of one of its chunks or children once it reached a terminal state. */
export interface Settlement {
  readonly state: SettledState;
  /** Every process it ever started is confirmed stopped. */
  readonly quiescent: boolean;
}

/** A settlement of the chunk at `index` (one entry of `job.chunks_settled`). */
export interface IndexedSettlement extends Settlement {
  readonly index: number;
}

/**
 * What a job knows of its chunks, one settlement (or none yet) per index, kept compact: a job may
 * have 1,000,000 chunks that settle one event at a time, so an update must not copy them all and
 * the job's guards must not scan them. Immutable and plain JSON (snapshots persist it as is).
 *
 * Each index has a one-character code: `.` unsettled; `s` `f` `c` settled succeeded, failed or
 * cancelled and quiescent; `S` `F` `C` the same, not quiescent yet. Indices are grouped in pages
 * of {@link PAGE}; a page is stored as `fill + prefix`: the codes of its first indices, then every
 * remaining index of the page has the code `fill` (the longest such tail is always folded, so
 * equal contents have equal pages). A fresh page is `'.'`, a page all settled alike `'s'`.
 *
 * Invariants: `pages.length = ceil(total / PAGE)`; `settled`, `succeeded` and `unquiescent` count
 * the indices whose code is not `.`, is `s`/`S`, and is upper case. Updates cost O(k log k + n /
 * PAGE + PAGE · pages touched) for k indices and n chunks; the counters make "all settled", "all
 * quiescent" and "all succeeded" O(1). Read and change it only through this module's functions.
 * @example
 * // 10 chunks: 0 succeeded, 2 failed with a process not confirmed stopped, the rest unsettled
 * settle(empty(10), [{ index: 0, state: 'succeeded', quiescent: true },
 *                    { index: 2, state: 'failed', quiescent: false }])
 * // => { total: 10, settled: 2, succeeded: 1, unquiescent: 1, pages: ['.s.F'] }
 */
export interface ChunkSettlements {
  readonly total: number;
  readonly settled: number;
  readonly succeeded: number;
  readonly unquiescent: number;
  readonly pages: readonly string[];
}

/** Indices per page: an update rewrites only the pages it touches. */
export const PAGE = 4096;

const UNSETTLED = '.';
/** The codes of a state: `[not quiescent, quiescent]`. */
const CODES: Readonly<Record<SettledState, readonly [string, string]>> = {
  succeeded: ['S', 's'],
  failed: ['F', 'f'],
  cancelled: ['C', 'c'],
};

/** What a code means, and what it adds to each counter (lookups, not string case mapping). */
interface Meaning {
  readonly settlement: Settlement | null;
  /** The code once quiescent. */
  readonly quiesced: string;
  readonly settled: number;
  readonly succeeded: number;
  readonly unquiescent: number;
}
const none = { settled: 0, succeeded: 0, unquiescent: 0 };
const MEANING = new Map<string, Meaning>([
  [UNSETTLED, { settlement: null, quiesced: UNSETTLED, ...none }],
  ...(Object.keys(CODES) as SettledState[]).flatMap((state) => {
    const [open, quiet] = CODES[state];
    const counts = { settled: 1, succeeded: Number(state === 'succeeded') };
    const settlement = (quiescent: boolean) => Object.freeze({ state, quiescent });
    return [
      [open, { settlement: settlement(false), quiesced: quiet, ...counts, unquiescent: 1 }],
      [quiet, { settlement: settlement(true), quiesced: quiet, ...counts, unquiescent: 0 }],
    ] as const;
  }),
]);

const codeOf = (s: Settlement) => CODES[s.state][Number(s.quiescent)] as string;
const meaning = (code: string) => MEANING.get(code) as Meaning;
const inRange = (s: ChunkSettlements, index: number) =>
  Number.isInteger(index) && index >= 0 && index < s.total;
const pageSize = (s: ChunkSettlements, page: number) => Math.min(PAGE, s.total - page * PAGE);

/** The code of an index known to be in range. */
function codeAt(s: ChunkSettlements, index: number): string {
  const page = s.pages[Math.floor(index / PAGE)] as string;
  const offset = (index % PAGE) + 1;
  return offset < page.length ? page.charAt(offset) : page.charAt(0);
}

/** A page as its `size` codes. */
const expand = (page: string, size: number) =>
  page.slice(1) + page.charAt(0).repeat(size - page.length + 1);

/** A page's codes as stored: the longest tail of one code is folded into the fill. */
function compact(codes: string): string {
  const fill = codes.charCodeAt(codes.length - 1);
  let end = codes.length - 1;
  while (end > 0 && codes.charCodeAt(end - 1) === fill) end -= 1;
  return codes.charAt(codes.length - 1) + codes.slice(0, end);
}

/** No chunk settled yet, out of `total`. Pure; O(total / PAGE). */
export function empty(total: number): ChunkSettlements {
  // One shared frozen value per size of a single page: every queued job holds one, most alike.
  if (total <= PAGE) {
    let shared = emptyOnePage.get(total);
    if (!shared) emptyOnePage.set(total, (shared = Object.freeze(emptyOf(total))));
    return shared;
  }
  return emptyOf(total);
}

const emptyOnePage = new Map<number, ChunkSettlements>();

function emptyOf(total: number): ChunkSettlements {
  const pages = Object.freeze(Array.from({ length: Math.ceil(total / PAGE) }, () => UNSETTLED));
  return { total, settled: 0, succeeded: 0, unquiescent: 0, pages };
}

/** The settlement of chunk `index`: `null` while it is unsettled (or out of range). Pure; O(1). */
export function at(s: ChunkSettlements, index: number): Settlement | null {
  return inRange(s, index) ? meaning(codeAt(s, index)).settlement : null;
}

/**
 * Whether `batch` records facts consistent with `s`: every index is in range, and an index
 * settles once — a settled index may only be repeated identically, and an index repeated within
 * the batch must be repeated identically. Pure; O(k).
 */
export function fits(s: ChunkSettlements, batch: readonly IndexedSettlement[]): boolean {
  const edits: Edits = new Map();
  for (const entry of batch) {
    if (!inRange(s, entry.index)) return false;
    const code = codeOf(entry);
    const prior = codeWithEdits(s, edits, entry.index);
    if (prior !== UNSETTLED && prior !== code) return false;
    edit(edits, entry.index, code);
  }
  return true;
}

/**
 * `s` with the unsettled indices of `batch` settled. Pure; `s` is not modified. Check `fits`
 * first: entries that do not fit (out of range, already settled) are ignored.
 */
export function settle(s: ChunkSettlements, batch: readonly IndexedSettlement[]): ChunkSettlements {
  const edits: Edits = new Map();
  for (const entry of batch) {
    if (inRange(s, entry.index) && codeWithEdits(s, edits, entry.index) === UNSETTLED) {
      edit(edits, entry.index, codeOf(entry));
    }
  }
  return apply(s, edits);
}

/** Whether every index of `indices` is settled and not quiescent yet. Pure; O(k). */
export function awaitQuiescence(s: ChunkSettlements, indices: readonly number[]): boolean {
  return indices.every((i) => inRange(s, i) && meaning(codeAt(s, i)).unquiescent === 1);
}

/**
 * `s` with the settled indices of `indices` quiescent. Pure; `s` is not modified. Check
 * `awaitQuiescence` first: unsettled or out-of-range indices are ignored.
 */
export function quiesce(s: ChunkSettlements, indices: readonly number[]): ChunkSettlements {
  const edits: Edits = new Map();
  for (const i of indices) {
    if (!inRange(s, i)) continue;
    const code = meaning(codeWithEdits(s, edits, i));
    if (code.unquiescent) edit(edits, i, code.quiesced);
  }
  return apply(s, edits);
}

/** Every chunk settled. Pure; O(1). */
export const everySettled = (s: ChunkSettlements) => s.settled === s.total;
/** Every chunk settled and quiescent. Pure; O(1). */
export const everyQuiescent = (s: ChunkSettlements) => everySettled(s) && s.unquiescent === 0;
/** Every chunk settled `succeeded`. Pure; O(1). */
export const everySucceeded = (s: ChunkSettlements) => s.succeeded === s.total;

/** The unsettled indices, ascending. Pure; O(n / PAGE + the pages that hold any). */
export function unsettled(s: ChunkSettlements): number[] {
  const found: number[] = [];
  s.pages.forEach((page, p) => {
    if (!page.includes(UNSETTLED)) return;
    const codes = expand(page, pageSize(s, p));
    for (let o = codes.indexOf(UNSETTLED); o !== -1; o = codes.indexOf(UNSETTLED, o + 1)) {
      found.push(p * PAGE + o);
    }
  });
  return found;
}

/** Codes an update writes, by page, then by offset in the page. */
type Edits = Map<number, Map<number, string>>;

/** The code of an in-range index once `edits` are written. */
function codeWithEdits(s: ChunkSettlements, edits: Edits, index: number): string {
  const offset = index % PAGE;
  return edits.get((index - offset) / PAGE)?.get(offset) ?? codeAt(s, index);
}

function edit(edits: Edits, index: number, code: string): void {
  const offset = index % PAGE;
  const page = (index - offset) / PAGE;
  const codes = edits.get(page);
  if (codes) codes.set(offset, code);
  else edits.set(page, new Map([[offset, code]]));
}

/** `s` with `edits` written: only the pages they touch are rebuilt, the counters follow. */
function apply(s: ChunkSettlements, edits: Edits): ChunkSettlements {
  if (edits.size === 0) return s;
  let { settled, succeeded, unquiescent } = s;
  const pages = [...s.pages];
  for (const [p, byOffset] of edits) {
    const codes = expand(pages[p] as string, pageSize(s, p));
    const parts: string[] = [];
    let from = 0;
    for (const o of [...byOffset.keys()].sort((a, b) => a - b)) {
      const code = byOffset.get(o) as string;
      const [after, before] = [meaning(code), meaning(codes.charAt(o))];
      settled += after.settled - before.settled;
      succeeded += after.succeeded - before.succeeded;
      unquiescent += after.unquiescent - before.unquiescent;
      parts.push(codes.slice(from, o), code);
      from = o + 1;
    }
    parts.push(codes.slice(from));
    pages[p] = compact(parts.join(''));
  }
  return { total: s.total, settled, succeeded, unquiescent, pages };
}
