import type { PendingReason } from '../events/index.js';
import {
  applyWith,
  arr,
  copyJson,
  idOf,
  jobOf,
  mapFromJson,
  mapToJson,
  type Handlers,
  type Json,
  type Projection,
} from './projection.js';

/** Entries kept per job (the most recent): a job re-queued forever must not grow without end. */
const PER_JOB_MAX = 500;

/** A chunk placed: where, and why there (the scheduler's `chunk.assigned.data.decision`). */
export interface PlacedEntry {
  kind: 'placed';
  seq: number;
  at: number;
  chunk: string;
  attempt: number;
  node: string;
  worker: string;
  dru?: number;
  rank?: number;
  skipped?: { node: string; reason: string }[];
}

/** The job waited: the scheduler's `job.pending_noted` (reasons, queue position, who was ahead). */
export interface WaitingEntry {
  kind: 'waiting';
  seq: number;
  at: number;
  reasons: PendingReason[];
  rank?: number;
  queueLength?: number;
  ahead: { user: string; dru: number }[];
}

export type DecisionEntry = PlacedEntry | WaitingEntry;

/** Per job, its decisions in log order. Owned and mutated by `apply` (see `Projection`). */
export interface DecisionsState {
  jobs: Map<string, DecisionEntry[]>;
}

function push(s: DecisionsState, job: string, entry: DecisionEntry): void {
  let list = s.jobs.get(job);
  if (!list) s.jobs.set(job, (list = []));
  list.push(entry);
  if (list.length > 2 * PER_JOB_MAX) list.splice(0, list.length - PER_JOB_MAX);
}

const handlers: Handlers<DecisionsState> = {
  'chunk.assigned': (s, e) => {
    const chunk = idOf(e.recorded.subject);
    const d = e.data.decision;
    const entry: PlacedEntry = {
      kind: 'placed',
      seq: e.recorded.seq,
      at: e.at,
      chunk,
      attempt: e.data.attempt,
      node: e.data.node,
      worker: e.data.worker,
    };
    if (d) {
      entry.dru = d.dru;
      entry.rank = d.rank;
      entry.skipped = d.skipped.map((x) => ({ node: x.node, reason: x.reason }));
    }
    push(s, jobOf(chunk), entry);
  },
  'job.pending_noted': (s, e) => {
    const entry: WaitingEntry = {
      kind: 'waiting',
      seq: e.recorded.seq,
      at: e.at,
      // Events are immutable: the entry shares the decoded reasons (snapshots copy them).
      reasons: e.data.reasons,
      ahead: e.data.ahead.map((a) => ({ user: a.user, dru: a.dru })),
    };
    if (e.data.rank !== undefined) entry.rank = e.data.rank;
    if (e.data.queueLength !== undefined) entry.queueLength = e.data.queueLength;
    push(s, idOf(e.recorded.subject), entry);
  },
};

/**
 * Placement decisions and waits per job, so "why was this pending at 09:14?" is answerable from
 * the log. Pure fold; state owned (see `Projection`).
 */
export const decisionsProjection: Projection<DecisionsState> = {
  name: 'decisions',
  version: 1,
  initial: () => ({ jobs: new Map() }),
  apply: applyWith(handlers),
  handlers,
  snapshot: (s) => ({ jobs: mapToJson(s.jobs, (l) => copyJson(l) as unknown as Json) }),
  restore: (j) => ({
    jobs: mapFromJson(
      (j as { jobs?: Json } | null)?.jobs,
      (l) => copyJson(arr(l)) as unknown as DecisionEntry[],
    ),
  }),
};

/** `decisionsAt` answer: what was in effect at `at`, and everything up to it. */
export interface DecisionsAt {
  jobId: string;
  at: number | null;
  /** The last wait noted at or before `at`, unless a placement came after it. */
  waiting: WaitingEntry | null;
  /** The last placement at or before `at`. */
  placed: PlacedEntry | null;
  entries: DecisionEntry[];
}

/**
 * The decisions of `jobId` as of `at` (epoch ms; all when omitted). Pure. `waiting` answers
 * "why was it pending then": the last `job.pending_noted` at or before `at` that no later
 * placement (at or before `at`) superseded.
 */
export function decisionsAt(s: DecisionsState, jobId: string, at?: number): DecisionsAt {
  const entries = (s.jobs.get(jobId) ?? []).filter((x) => at === undefined || x.at <= at);
  let waiting: WaitingEntry | null = null;
  let placed: PlacedEntry | null = null;
  for (const x of entries) {
    if (x.kind === 'waiting') waiting = x;
    else {
      placed = x;
      if (waiting && waiting.seq < x.seq) waiting = null;
    }
  }
  return { jobId, at: at ?? null, waiting, placed, entries };
}
