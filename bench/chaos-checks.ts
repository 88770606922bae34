import { isCorrupt, type JetStreamEventLog } from '../src/events/index.js';
import type { Submitted } from './chaos-workload.js';

/** What the log says after a chaos run (each should be 0). */
export interface LogFindings {
  events: number;
  /** Chunks with more than one `chunk.succeeded`. */
  doubleSuccess: number;
  /** `chunk.succeeded` carrying a result after its job's or chunk's results were cleared. */
  resultsAfterClear: number;
  /** Clears the API accepted whose `job.results_cleared` never reached the log. */
  clearsMissing?: number;
  /** `job.results_cleared` before its job's end (a clear that should have been refused). */
  clearsBeforeEnd?: number;
}

const JOB_ENDS = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);

/** Walk the whole log once and count the invariant breaks of issue 23 point 3. */
export async function checkLog(log: JetStreamEventLog, s: Submitted): Promise<LogFindings> {
  const successes = new Map<string, number>();
  const clearedJobs = new Set<string>();
  const clearedChunks = new Set<string>();
  const endedJobs = new Set<string>();
  let events = 0;
  let resultsAfterClear = 0;
  let clearsBeforeEnd = 0;
  for await (const item of log.replay()) {
    events++;
    if (isCorrupt(item)) continue;
    const [, , kind, id = ''] = item.recorded.subject.split('.');
    if (JOB_ENDS.has(item.type) && kind === 'job') endedJobs.add(id);
    if (item.type === 'job.results_cleared') {
      clearedJobs.add(id);
      if (!endedJobs.has(id)) clearsBeforeEnd++;
    }
    if (item.type === 'chunk.results_cleared') clearedChunks.add(id);
    if (item.type === 'chunk.succeeded' && kind === 'chunk') {
      successes.set(id, (successes.get(id) ?? 0) + 1);
      const job = id.slice(0, id.lastIndexOf(':'));
      if (clearedChunks.has(id) || clearedJobs.has(job)) resultsAfterClear++;
    }
  }
  return {
    events,
    doubleSuccess: [...successes.values()].filter((n) => n > 1).length,
    resultsAfterClear,
    clearsMissing: [...s.clearsAccepted].filter((id) => !clearedJobs.has(id)).length,
    clearsBeforeEnd,
  };
}

/** One difference `replay --verify` found, values cut to `VALUE_CHARS` (a report stays small). */
export interface ReplayDiff {
  projection: string;
  path: string;
  live: string;
  rebuilt: string;
}

const DIFFS_KEPT = 10;
const VALUE_CHARS = 300;

const cut = (v: unknown): string => {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > VALUE_CHARS ? `${s.slice(0, VALUE_CHARS)}...(${s.length} chars)` : s;
};

/**
 * Read `drover replay --verify --json`'s answer: equal, or the differences (it exits 1 with the
 * same JSON document when they differ); an answer that is not JSON is one difference saying so.
 */
export function readVerify(out: { code: number | null; stdout: string; stderr: string }): {
  equal: boolean;
  diffs: ReplayDiff[];
} {
  type Doc = {
    verify?: {
      equal?: boolean;
      diffs?: { projection: string; path: string; live?: unknown; rebuilt?: unknown }[];
    };
  };
  let doc: Doc | undefined;
  try {
    doc = JSON.parse(out.stdout) as Doc;
  } catch {
    doc = undefined;
  }
  const equal = out.code === 0 && doc?.verify?.equal === true;
  if (equal) return { equal, diffs: [] };
  const diffs = (doc?.verify?.diffs ?? []).slice(0, DIFFS_KEPT).map((d) => ({
    projection: d.projection,
    path: d.path,
    live: cut(d.live),
    rebuilt: cut(d.rebuilt),
  }));
  if (!diffs.length)
    diffs.push({
      projection: '?',
      path: `exit ${out.code}`,
      live: cut(out.stderr.trim() || out.stdout.trim()),
      rebuilt: '',
    });
  return { equal, diffs };
}
