/**
 * Where a mass cancel's time goes, stage by stage, from the server's timestamps of each job's
 * events (the `at` of an event is when its writer decided it, not when it landed). Pure, so it
 * is tested on made-up timelines (test/unit/bench/cancel-timeline.test.ts).
 */

/**
 * One stored event: its type, the job it concerns, when its writer decided it (`at`, the
 * writer's clock) and when the server stored it (`ms`), epoch ms.
 */
export interface StoredAt {
  readonly type: string;
  readonly jobId: string;
  readonly at: number;
  readonly ms: number;
}

/**
 * The cancel path of a one-chunk job, in order: each stage ends with the first of its events.
 * cascade = the job's cancel → its chunk's; ask = chunk's cancel → the worker's kill request
 * (since branch cancel20 both are asked in one step and race: about 0, of either sign); kill =
 * kill request → the worker's end (the work message, the agent's stop, the process's exit and
 * the report); confirm = worker's end → the chunk's cancel; settle = chunk cancelled → the job
 * told; close = told → the job cancelled (since cancel20 in the same queue turn as the told).
 */
export const CANCEL_STAGES = [
  ['cascade', 'job.cancel_requested', 'chunk.cancel_requested'],
  ['ask', 'chunk.cancel_requested', 'worker.kill_requested'],
  ['kill', 'worker.kill_requested', 'worker.killed'],
  ['confirm', 'worker.killed', 'chunk.cancelled'],
  ['settle', 'chunk.cancelled', 'job.chunks_settled'],
  ['close', 'job.chunks_settled', 'job.cancelled'],
] as const;

const pct = (s: readonly number[], p: number) =>
  s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : NaN;
const round = (x: number) => Math.round(x * 10) / 10;
const mean = (xs: readonly number[]) =>
  xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : NaN;

/**
 * One stage over the jobs (ms): `writeMean` is the part after its end event was decided (the
 * append's round trip, and waiting for its turn in the writer), the rest the writer's reaction.
 */
export interface Stage {
  readonly mean: number;
  readonly p50: number;
  readonly max: number;
  readonly writeMean: number;
  readonly jobs: number;
}

/**
 * Per stage: mean, p50 and max over the jobs that have both ends (ms); and `wall`, the first
 * job's cancel to the last job's `job.cancelled`, with when each event type first and last
 * landed (ms after the first cancel). A job without a stage's start event (a path that skips
 * it) times that stage from the latest earlier event it has; without its end, not at all.
 */
export function cancelStages(events: readonly StoredAt[]) {
  const byJob = new Map<string, Map<string, number>>();
  const decided = new Map<string, Map<string, number>>();
  for (const e of events) {
    const m = byJob.get(e.jobId) ?? new Map<string, number>();
    const a = decided.get(e.jobId) ?? new Map<string, number>();
    if (!m.has(e.type)) m.set(e.type, e.ms);
    if (!a.has(e.type)) a.set(e.type, e.at);
    byJob.set(e.jobId, m);
    decided.set(e.jobId, a);
  }
  const t0 = Math.min(...events.filter((e) => e.type === 'job.cancel_requested').map((e) => e.ms));
  const stages: Record<string, Stage> = {};
  for (const [name, from, to] of CANCEL_STAGES) {
    const d: number[] = [];
    const write: number[] = [];
    for (const [job, m] of byJob) {
      const end = m.get(to);
      const start = m.get(from) ?? prior(m, from);
      if (start === undefined || end === undefined) continue;
      d.push(end - start);
      write.push(end - (decided.get(job)?.get(to) ?? end));
    }
    d.sort((a, b) => a - b);
    stages[name] = {
      mean: mean(d),
      p50: round(pct(d, 50)),
      max: round(pct(d, 100)),
      writeMean: mean(write),
      jobs: d.length,
    };
  }
  const landed: Record<string, { first: number; last: number; n: number }> = {};
  for (const e of events) {
    const l = (landed[e.type] ??= { first: Infinity, last: -Infinity, n: 0 });
    l.first = Math.min(l.first, round(e.ms - t0));
    l.last = Math.max(l.last, round(e.ms - t0));
    l.n++;
  }
  const ends = events.filter((e) => e.type === 'job.cancelled').map((e) => e.ms);
  return { from: t0, wall: round(Math.max(...ends) - t0), stages, landed };
}

/** The latest earlier stage's start that the job has (its stage `from` was skipped). */
function prior(m: Map<string, number>, from: string): number | undefined {
  const i = CANCEL_STAGES.findIndex(([, f]) => f === from);
  for (let j = i - 1; j >= 0; j--) {
    const at = m.get((CANCEL_STAGES[j] as readonly string[])[1] as string);
    if (at !== undefined) return at;
  }
  return undefined;
}
