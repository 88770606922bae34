import { stateName } from '../actors/index.js';
import {
  descendants,
  jobList,
  jobView,
  nodeList,
  sessionRows,
  publicState,
  type JobRow,
  type JobState,
  type JobView,
  type NodeView,
  type ReadModel,
  type AlertView,
  type SessionRow,
} from '../api/index.js';
import {
  fairshare,
  throughput,
  type FairshareRow,
  type ThroughputSeries,
  type ThroughputState,
} from '../projections/index.js';
import type { FailureNote, FairSample, Feed } from './feed.jetstream.js';
import { alertsPanel } from './ops-views.js';
import { runbooksInProgress, type RunbookPanelRow } from './runbook-runs.js';

/** Queue depth of one user: jobs by state and chunks waiting or running. */
export interface QueueRow {
  user: string;
  queued: number;
  held: number;
  running: number;
  cancelling: number;
  runningChunks: number;
}

/** A chunk with a live attempt, for the overview's "running" table. */
export interface RunningChunk {
  chunk: string;
  job: string;
  name: string;
  user: string;
  node: string;
  worker?: string;
  state: string;
  progress?: number;
}

/** The overview page: everything at a glance, pushed whole over SSE (bounded in size). */
export interface Overview {
  seq: number;
  now: number;
  nodes: NodeView[];
  jobs: { total: number; byState: Record<string, number> };
  queue: QueueRow[];
  runningCount: number;
  running: RunningChunk[];
  /**
   * Completed chunks per minute per node, over the minutes `[from, to]` (epoch ms) that the
   * farm's data spans (a worker is one attempt of one chunk: per worker, every count is 1).
   */
  throughput: { node: ThroughputSeries[]; from: number; to: number };
  failures: { cause: string; count: number; recent: FailureNote[] }[];
  /** Runbook runs in progress and their steps. */
  runbooks: RunbookPanelRow[];
  /** Interactive sessions not yet exited: who, where, since when. */
  sessions: SessionRow[];
  /** Firing alerts and those resolved in the last day (bounded: `ALERTS_SHOWN`). */
  alerts: AlertView[];
}

const RUNNING_SHOWN = 100;
const MINUTE_MS = 60_000;
/** The charts look back at most this far (the throughput projection keeps 24 h of minutes). */
const WINDOW_MS = 24 * 60 * MINUTE_MS;
/** The charts span at least this many minutes, so a fresh farm's first minute is not a spike. */
export const MIN_CHART_MINUTES = 5;

function queueRows(model: ReadModel, byState: Record<string, number>): Map<string, QueueRow> {
  const rows = new Map<string, QueueRow>();
  for (const job of model.jobs.values()) {
    const state = publicState(job);
    const user = job.context.spec?.user;
    if (!state || user === undefined) continue;
    byState[state] = (byState[state] ?? 0) + 1;
    if (state !== 'queued' && state !== 'held' && state !== 'running' && state !== 'cancelling')
      continue;
    let row = rows.get(user);
    if (!row) {
      row = { user, queued: 0, held: 0, running: 0, cancelling: 0, runningChunks: 0 };
      rows.set(user, row);
    }
    row[state]++;
  }
  return rows;
}

function runningChunks(model: ReadModel, queue: Map<string, QueueRow>): RunningChunk[] {
  const out: RunningChunk[] = [];
  for (const [chunk, node] of model.liveChunks) {
    const jobId = chunk.slice(0, chunk.indexOf(':'));
    const spec = model.jobs.get(jobId)?.context.spec;
    const c = model.chunks.get(chunk);
    if (!spec || !c) continue;
    const row = queue.get(spec.user);
    if (row) row.runningChunks++;
    if (out.length >= RUNNING_SHOWN) continue;
    const last = c.context.attempts[c.context.attempts.length - 1];
    out.push({
      chunk,
      job: jobId,
      name: spec.name,
      user: spec.user,
      node,
      ...(last && { worker: last.worker }),
      state: stateName(c),
      ...(c.context.progress !== undefined && { progress: c.context.progress }),
    });
  }
  return out;
}

/**
 * The minutes a throughput chart spans: from the first minute with data (or `MIN_CHART_MINUTES`
 * before `now`, if later) to `now`'s minute, as epoch ms of minute starts. Pure.
 */
export function chartRange(
  series: readonly ThroughputSeries[],
  now: number,
): { from: number; to: number } {
  const to = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  let from = to - (MIN_CHART_MINUTES - 1) * MINUTE_MS;
  for (const s of series) for (const b of s.buckets) if (b.minute < from) from = b.minute;
  return { from, to };
}

function throughputOf(s: ThroughputState, now: number): Overview['throughput'] {
  const node = throughput(s, { by: 'node', since: now - WINDOW_MS });
  return { node, ...chartRange(node, now) };
}

function failureGroups(failures: readonly FailureNote[]): Overview['failures'] {
  const groups = new Map<string, { cause: string; count: number; recent: FailureNote[] }>();
  for (const f of failures) {
    let g = groups.get(f.cause);
    if (!g) groups.set(f.cause, (g = { cause: f.cause, count: 0, recent: [] }));
    g.count++;
    if (g.recent.length < 5) g.recent.push(f);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** The overview as of `now` (the throughput window ends there). Pure over the feed's state. */
export function overview(feed: Feed, now: number): Overview {
  const byState: Record<string, number> = {};
  const queue = queueRows(feed.model, byState);
  const running = runningChunks(feed.model, queue);
  return {
    seq: feed.model.seq,
    now,
    nodes: nodeList(feed.model).sort((a, b) => (a.id < b.id ? -1 : 1)),
    jobs: { total: feed.model.jobs.size, byState },
    queue: [...queue.values()].sort((a, b) => (a.user < b.user ? -1 : 1)),
    runningCount: feed.model.liveChunks.size,
    running,
    throughput: throughputOf(feed.throughput, now),
    failures: failureGroups(feed.failures),
    runbooks: runbooksInProgress(feed.model),
    sessions: sessionRows(feed.model.sessions),
    alerts: alertsPanel(feed.model, now),
  };
}

/** Filters of the job list page. */
export interface JobsQuery {
  user?: string;
  state?: JobState;
  name?: string;
  offset?: number;
  limit?: number;
}

/** One page of the job list, newest first, with the total that matches. Pure. */
export function jobsPage(
  model: ReadModel,
  q: JobsQuery,
): { seq: number; total: number; offset: number; rows: JobRow[] } {
  let rows = jobList(model, {
    all: true,
    limit: Number.MAX_SAFE_INTEGER,
    ...(q.user && { user: q.user }),
    ...(q.state && { state: q.state }),
  });
  if (q.name) rows = rows.filter((r) => r.name.includes(q.name as string));
  const offset = Math.max(0, q.offset ?? 0);
  const limit = Math.min(500, Math.max(1, q.limit ?? 50));
  const end = rows.length - offset;
  const page = rows.slice(Math.max(0, end - limit), Math.max(0, end)).reverse();
  return { seq: model.seq, total: rows.length, offset, rows: page };
}

/** Chunks per job shown on the timeline (a huge job stays drawable). */
export const TIMELINE_CHUNKS = 200;

/** A job and its descendants as views (parents first), chunks capped for the timeline. Pure. */
export function jobTree(
  model: ReadModel,
  id: string,
): { seq: number; jobs: JobView[] } | undefined {
  if (!model.jobs.has(id)) return undefined;
  const jobs: JobView[] = [];
  for (const jid of descendants(model, id).slice(0, 200)) {
    const v = jobView(model, jid);
    if (v) jobs.push({ ...v, chunks: v.chunks.slice(0, TIMELINE_CHUNKS) });
  }
  return jobs.length ? { seq: model.seq, jobs } : undefined;
}

/** The fair-share page: the rows as `drover fairshare` computes them, plus sampled history. */
export function fairshareView(
  feed: Feed,
  now: number,
): {
  seq: number;
  now: number;
  rows: Omit<FairshareRow, 'facts'>[];
  history: Record<string, FairSample[]>;
} {
  const rows = fairshare(feed.fairshare, { now }).map(({ facts: _f, ...r }) => r);
  return { seq: feed.model.seq, now, rows, history: Object.fromEntries(feed.fairHistory) };
}
