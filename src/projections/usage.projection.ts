import type { FailureCause, RecordedEvent } from '../events/index.js';
import type { PeakRun } from '../policy/index.js';
import {
  addRun,
  aggFromJson,
  aggToJson,
  emptyAgg,
  mergeAgg,
  recommendMemMb,
  type Agg,
  type RunFigures,
} from './usage-math.js';
import {
  applyWith,
  arr,
  idOf,
  jobOf,
  mapFromJson,
  mapToJson,
  num,
  obj,
  type Handlers,
  type Projection,
  type RecordedOf,
} from './projection.js';

/** What usage is grouped by. */
export type UsageKeyKind = 'name' | 'user' | 'pool';
const KINDS: readonly UsageKeyKind[] = ['name', 'user', 'pool'];
const HOUR_MS = 3_600_000;
/** Hour buckets (for `since`) are kept this long, in log time; totals are kept forever. */
const BUCKET_HOURS = 30 * 24;
/** Peaks kept per job name for the recommendation (the most recent runs). */
const PEAKS_MAX = 1_000;
/** Recently ended workers remembered, so a later `chunk.attempt_failed` is not counted twice. */
const ENDED_MAX = 10_000;
const UNKNOWN = '(unknown)';

/** One ended run of a job name: `[endAt, peakMb, worker, cause]`. */
type Peak = [number, number, string, string];

/** A worker that has not ended yet: what its samples said so far. */
interface LiveWorker {
  job: string;
  start: number;
  lastAt: number;
  lastRss: number;
  mbs: number;
  peak: number;
  cpu: number;
}

/**
 * The state of the usage projection. Owned and mutated by `apply` (see `Projection`).
 * Runs are counted when their worker ends (`worker.exited`, `worker.killed`, `worker.lost`);
 * a running worker's samples are kept so its peak and MB-seconds are true when it ends.
 */
export interface UsageState {
  jobs: Map<string, [name: string, user: string, pool: string]>;
  workers: Map<string, LiveWorker>;
  ended: string[];
  endedSet: Set<string>;
  totals: Map<string, Agg>;
  /** `<kind>\0<key>` → hour (epoch ms / 3,600,000) → aggregate. */
  hours: Map<string, Map<number, Agg>>;
  /** job name → recent `[endAt, peakMb, worker, cause]` (worker and cause: v2, for `--mem auto`). */
  peaks: Map<string, Peak[]>;
  lastHour: number;
}

/** One row of `drover usage` (CONTRACT `usage` shape, plus `recommendationRuns`). */
export interface UsageRow {
  key: string;
  runs: number;
  cpuSeconds: number;
  memPeakMb: number;
  memMbSeconds: number;
  wallSeconds: number;
  outcomes: Record<string, number>;
  /** p95 of peaks × 1.2, rounded up to 64 MB; per job name only (null for users and pools). */
  recommendedMemMb: number | null;
  /** How many runs the recommendation rests on. */
  recommendationRuns: number;
}

function keyOf(kind: UsageKeyKind, key: string): string {
  return `${kind}\u0000${key}`;
}

function jobKeys(s: UsageState, jobId: string): [string, string, string] {
  return s.jobs.get(jobId) ?? [UNKNOWN, UNKNOWN, UNKNOWN];
}

function record(s: UsageState, jobId: string, at: number, run: RunFigures, worker = ''): void {
  const keys = jobKeys(s, jobId);
  const hour = Math.floor(at / HOUR_MS);
  if (hour > s.lastHour) prune(s, hour);
  for (let k = 0; k < 3; k++) {
    const key = keyOf(KINDS[k] as UsageKeyKind, keys[k] as string);
    let total = s.totals.get(key);
    if (!total) s.totals.set(key, (total = emptyAgg()));
    addRun(total, run);
    let buckets = s.hours.get(key);
    if (!buckets) s.hours.set(key, (buckets = new Map()));
    let bucket = buckets.get(hour);
    if (!bucket) buckets.set(hour, (bucket = emptyAgg()));
    addRun(bucket, run);
  }
  if (run.counted) {
    let peaks = s.peaks.get(keys[0]);
    if (!peaks) s.peaks.set(keys[0], (peaks = []));
    peaks.push([at, run.peak, worker, run.cause]);
    if (peaks.length > 2 * PEAKS_MAX) peaks.splice(0, peaks.length - PEAKS_MAX);
  }
}

/** Drop hour buckets older than the window (log time: driven by events, never a clock). */
function prune(s: UsageState, hour: number): void {
  s.lastHour = hour;
  const oldest = hour - BUCKET_HOURS;
  for (const buckets of s.hours.values()) {
    for (const h of buckets.keys()) if (h < oldest) buckets.delete(h);
  }
}

function live(s: UsageState, id: string, at: number): LiveWorker | undefined {
  const w = s.workers.get(id);
  if (w || s.endedSet.has(id)) return w;
  const fresh = { job: jobOf(id), start: at, lastAt: -1, lastRss: 0, mbs: 0, peak: 0, cpu: 0 };
  s.workers.set(id, fresh);
  return fresh;
}

function end(
  s: UsageState,
  e: RecordedEvent,
  fig: { peak: number; cpu: number; wall: number | undefined; cause: FailureCause },
): void {
  const id = idOf(e.recorded.subject);
  const w = live(s, id, e.at);
  if (!w) return;
  if (w.lastAt >= 0 && e.at > w.lastAt) w.mbs += (w.lastRss * (e.at - w.lastAt)) / 1000;
  s.workers.delete(id);
  s.ended.push(id);
  s.endedSet.add(id);
  if (s.ended.length > 2 * ENDED_MAX) {
    for (const old of s.ended.splice(0, s.ended.length - ENDED_MAX)) s.endedSet.delete(old);
  }
  record(
    s,
    w.job,
    e.at,
    {
      counted: true,
      cpu: Math.max(w.cpu, fig.cpu),
      peak: Math.max(w.peak, fig.peak),
      mbs: w.mbs,
      wall: fig.wall ?? Math.max(0, (e.at - w.start) / 1000),
      cause: fig.cause,
    },
    id,
  );
}

const handlers: Handlers<UsageState> = {
  'job.submitted': (s, e) => {
    s.jobs.set(idOf(e.recorded.subject), [e.data.name, e.data.user, e.data.pool]);
  },
  'worker.launching': (s, e) => {
    const id = idOf(e.recorded.subject);
    const w = live(s, id, e.at);
    if (w) w.job = e.data.jobId;
  },
  'worker.started': (s, e) => {
    const w = live(s, idOf(e.recorded.subject), e.at);
    if (w && w.lastAt < 0) w.start = e.at;
  },
  'worker.sampled': (s, e) => sample(s, e),
  'worker.exited': (s, e) =>
    end(s, e, {
      peak: e.data.peakRssMb,
      cpu: e.data.cpuSeconds,
      wall: e.data.wallSeconds,
      cause: e.data.cause,
    }),
  'worker.killed': (s, e) =>
    end(s, e, {
      peak: e.data.peakRssMb,
      cpu: e.data.cpuSeconds,
      wall: e.data.wallSeconds,
      cause: e.data.cause,
    }),
  'worker.lost': (s, e) => end(s, e, { peak: 0, cpu: 0, wall: undefined, cause: e.data.cause }),
  'chunk.attempt_failed': (s, e) => {
    // Only an attempt that never had a worker: otherwise its worker's end counted it.
    const chunk = idOf(e.recorded.subject);
    const wid = `${chunk}:${e.data.attempt}`;
    if (s.workers.has(wid) || s.endedSet.has(wid)) return;
    const none = { counted: false, cpu: 0, peak: 0, mbs: 0, wall: 0, cause: e.data.cause };
    record(s, jobOf(chunk), e.at, none);
  },
};

/** RSS integrated over time by trapezoids between samples (MB × s). */
function sample(s: UsageState, e: RecordedOf<'worker.sampled'>): void {
  const w = live(s, idOf(e.recorded.subject), e.at);
  if (!w) return;
  const { rssMb, peakRssMb, cpuSeconds } = e.data;
  if (w.lastAt >= 0 && e.at > w.lastAt) {
    w.mbs += ((w.lastRss + rssMb) / 2) * ((e.at - w.lastAt) / 1000);
  }
  if (e.at >= w.lastAt) {
    w.lastAt = e.at;
    w.lastRss = rssMb;
  }
  w.peak = Math.max(w.peak, peakRssMb, rssMb);
  w.cpu = Math.max(w.cpu, cpuSeconds);
}

/**
 * Usage per job name, user and pool: runs, CPU-seconds, memory peak (the max of every sampled
 * and reported peak, so a worker killed for memory shows its true peak), MB-seconds (RSS
 * integrated between samples, the last sample held until the end), wall seconds and outcome
 * counts by cause. Pure fold; state owned (see `Projection`).
 */
export const usageProjection: Projection<UsageState> = {
  name: 'usage',
  // v2: each remembered peak also names its worker and cause (the provenance of `--mem auto`).
  version: 2,
  initial: () => ({
    jobs: new Map(),
    workers: new Map(),
    ended: [],
    endedSet: new Set(),
    totals: new Map(),
    hours: new Map(),
    peaks: new Map(),
    lastHour: -Infinity,
  }),
  apply: applyWith(handlers),
  handlers,
  snapshot: (s) => ({
    jobs: mapToJson(s.jobs, (v) => [...v]),
    workers: mapToJson(s.workers, (w) => ({ ...w })),
    ended: [...s.ended],
    totals: mapToJson(s.totals, aggToJson),
    hours: mapToJson(s.hours, (b) => [...b].map(([h, a]) => [h, aggToJson(a)])),
    peaks: mapToJson(s.peaks, (p) => p.map((x) => [...x])),
    lastHour: Number.isFinite(s.lastHour) ? s.lastHour : null,
  }),
  restore: (j) => {
    const o = obj(j);
    const ended = arr(o.ended).map(String);
    return {
      jobs: mapFromJson(o.jobs, (v) => arr(v).map(String) as [string, string, string]),
      workers: mapFromJson(o.workers, (w) => ({ ...obj(w) }) as unknown as LiveWorker),
      ended,
      endedSet: new Set(ended),
      totals: mapFromJson(o.totals, aggFromJson),
      hours: mapFromJson(
        o.hours,
        (b) => new Map(arr(b).map((x) => [num(arr(x)[0]), aggFromJson(arr(x)[1] ?? null)])),
      ),
      peaks: mapFromJson(o.peaks, (p) =>
        arr(p).map((x): Peak => {
          const [at, peak, worker, cause] = arr(x);
          return [num(at), num(peak), String(worker ?? ''), String(cause ?? '')];
        }),
      ),
      lastHour: typeof o.lastHour === 'number' ? o.lastHour : -Infinity,
    };
  },
};

/**
 * Usage rows grouped by `by`, sorted by key. Pure. `since` (epoch ms) has hour resolution: it
 * counts runs that ended in the hour of `since` or later (hour buckets go back 30 days of log
 * time); without it, all-time totals. The recommendation uses the peaks of the last 1,000 runs
 * of each name that ended at or after `since`.
 */
export function usage(s: UsageState, q: { by: UsageKeyKind; since?: number }): UsageRow[] {
  const prefix = `${q.by}\u0000`;
  const rows: UsageRow[] = [];
  const fromHour = q.since === undefined ? undefined : Math.floor(q.since / HOUR_MS);
  for (const [k, total] of s.totals) {
    if (!k.startsWith(prefix)) continue;
    let agg = total;
    if (fromHour !== undefined) {
      agg = emptyAgg();
      for (const [h, a] of s.hours.get(k) ?? []) if (h >= fromHour) mergeAgg(agg, a);
      if (agg.runs === 0 && Object.keys(agg.outcomes).length === 0) continue;
    }
    const key = k.slice(prefix.length);
    const peaks = (q.by === 'name' ? (s.peaks.get(key) ?? []) : [])
      .filter(([at]) => q.since === undefined || at >= q.since)
      .slice(-PEAKS_MAX)
      .map(([, p]) => p);
    rows.push({
      key,
      runs: agg.runs,
      cpuSeconds: agg.cpu,
      memPeakMb: agg.peak,
      memMbSeconds: agg.mbs,
      wallSeconds: agg.wall,
      outcomes: { ...agg.outcomes },
      recommendedMemMb: q.by === 'name' ? recommendMemMb(peaks) : null,
      recommendationRuns: peaks.length,
    });
  }
  return rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The remembered runs of job name `name` (the last 1,000 that ended, OOM-killed ones with their
 * true peak), as `decideMemAuto` takes them. Pure.
 */
export function peakRunsOf(s: UsageState, name: string): PeakRun[] {
  return (s.peaks.get(name) ?? []).map(([at, peakMb, worker, cause]) => ({
    at,
    peakMb,
    worker,
    cause,
  }));
}
