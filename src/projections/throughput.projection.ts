import {
  applyWith,
  arr,
  idOf,
  mapFromJson,
  mapToJson,
  num,
  obj,
  type Handlers,
  type Projection,
} from './projection.js';

const MINUTE_MS = 60_000;
/** Minute buckets kept, in log time (24 h): memory stays bounded however long the log is. */
export const THROUGHPUT_WINDOW_MINUTES = 24 * 60;
/** Buckets are pruned when log time has moved this far since the last pruning. */
const PRUNE_EVERY_MINUTES = 60;

/** What throughput is grouped by. */
export type ThroughputKind = 'node' | 'worker';

/**
 * Completed chunks per minute. Owned and mutated by `apply` (see `Projection`).
 * `series` is keyed `<kind>\0<id>`; node totals are all-time, worker figures only in the window.
 */
export interface ThroughputState {
  /** chunk id → [node, worker] of its current assignment. */
  assigned: Map<string, [string, string]>;
  series: Map<string, Map<number, number>>;
  nodeTotals: Map<string, number>;
  total: number;
  lastMinute: number;
  prunedAt: number;
}

function count(s: ThroughputState, key: string, minute: number): void {
  let m = s.series.get(key);
  if (!m) s.series.set(key, (m = new Map()));
  m.set(minute, (m.get(minute) ?? 0) + 1);
}

function prune(s: ThroughputState, minute: number): void {
  s.prunedAt = minute;
  const oldest = minute - THROUGHPUT_WINDOW_MINUTES;
  for (const [key, m] of s.series) {
    for (const t of m.keys()) if (t <= oldest) m.delete(t);
    if (m.size === 0) s.series.delete(key);
  }
}

function settle(s: ThroughputState, chunk: string): void {
  s.assigned.delete(chunk);
}

const handlers: Handlers<ThroughputState> = {
  'chunk.assigned': (s, e) => {
    s.assigned.set(idOf(e.recorded.subject), [e.data.node, e.data.worker]);
  },
  'chunk.succeeded': (s, e) => {
    const chunk = idOf(e.recorded.subject);
    const where = s.assigned.get(chunk);
    const minute = Math.floor(e.at / MINUTE_MS);
    if (minute > s.lastMinute) s.lastMinute = minute;
    if (s.lastMinute - s.prunedAt >= PRUNE_EVERY_MINUTES) prune(s, s.lastMinute);
    s.total++;
    settle(s, chunk);
    if (!where) return;
    const [node, worker] = where;
    s.nodeTotals.set(node, (s.nodeTotals.get(node) ?? 0) + 1);
    if (minute <= s.lastMinute - THROUGHPUT_WINDOW_MINUTES) return;
    count(s, `node\u0000${node}`, minute);
    count(s, `worker\u0000${worker}`, minute);
  },
  'chunk.failed': (s, e) => settle(s, idOf(e.recorded.subject)),
  'chunk.cancelled': (s, e) => settle(s, idOf(e.recorded.subject)),
};

/**
 * Completed chunks (`chunk.succeeded`) per minute, per node (from the chunk's current
 * assignment) and per worker, for graphs. Minute buckets cover the last 24 h of log time; node
 * totals are all-time. Pure fold; state owned (see `Projection`).
 */
export const throughputProjection: Projection<ThroughputState> = {
  name: 'throughput',
  version: 1,
  initial: () => ({
    assigned: new Map(),
    series: new Map(),
    nodeTotals: new Map(),
    total: 0,
    lastMinute: 0,
    prunedAt: 0,
  }),
  apply: applyWith(handlers),
  handlers,
  snapshot: (s) => ({
    assigned: mapToJson(s.assigned, (v) => [...v]),
    series: mapToJson(s.series, (m) => [...m].map(([t, n]) => [t, n])),
    nodeTotals: mapToJson(s.nodeTotals, (n) => n),
    total: s.total,
    lastMinute: s.lastMinute,
    prunedAt: s.prunedAt,
  }),
  restore: (j) => {
    const o = obj(j);
    return {
      assigned: mapFromJson(o.assigned, (v) => arr(v).map(String) as [string, string]),
      series: mapFromJson(
        o.series,
        (m) => new Map(arr(m).map((x) => [num(arr(x)[0]), num(arr(x)[1])])),
      ),
      nodeTotals: mapFromJson(o.nodeTotals, num),
      total: num(o.total),
      lastMinute: num(o.lastMinute),
      prunedAt: num(o.prunedAt),
    };
  },
};

/** One series of the throughput graph: buckets are minute starts (epoch ms) with counts. */
export interface ThroughputSeries {
  key: string;
  total: number;
  buckets: { minute: number; count: number }[];
}

/**
 * Throughput series by node or worker within `[since, until]` (epoch ms, inclusive minutes),
 * sorted by key. Pure. A node's `total` is all-time; a worker's is what the window holds.
 */
export function throughput(
  s: ThroughputState,
  q: { by: ThroughputKind; since?: number; until?: number },
): ThroughputSeries[] {
  const prefix = `${q.by}\u0000`;
  const from = q.since === undefined ? -Infinity : Math.floor(q.since / MINUTE_MS);
  const to = q.until === undefined ? Infinity : Math.floor(q.until / MINUTE_MS);
  const out: ThroughputSeries[] = [];
  for (const [k, m] of s.series) {
    if (!k.startsWith(prefix)) continue;
    const key = k.slice(prefix.length);
    const buckets = [...m]
      .filter(([t]) => t >= from && t <= to)
      .sort((a, b) => a[0] - b[0])
      .map(([t, n]) => ({ minute: t * MINUTE_MS, count: n }));
    const windowTotal = [...m.values()].reduce((a, b) => a + b, 0);
    const total = q.by === 'node' ? (s.nodeTotals.get(key) ?? windowTotal) : windowTotal;
    if (buckets.length) out.push({ key, total, buckets });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
