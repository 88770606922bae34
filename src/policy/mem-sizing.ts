/**
 * `submit --mem auto`: the memory a job of a given name should ask for, from the peaks of that
 * name's earlier runs (the usage projection keeps them, OOM-killed runs included), with the
 * provenance recorded in the job's `job.submitted` event. Pure: time comes in as `now`, so the
 * API decides once, the log holds the figure, and replay never decides again.
 */

/** One ended run of a job name, as the usage projection remembers it. */
export interface PeakRun {
  /** The worker (`<job>:<chunk>:<attempt>`) whose peak this is. */
  readonly worker: string;
  /** When it ended (epoch ms, log time). */
  readonly at: number;
  readonly peakMb: number;
  /** Its failure cause (`Succeeded`, `OutOfMemory`, ...). */
  readonly cause: string;
}

/** The rule's parameters. */
export interface MemRule {
  /** Only runs that ended this many days before `now` or later count. */
  readonly windowDays: number;
  /** The most recent runs considered (the largest OOM-killed run in the window always is). */
  readonly lastRuns: number;
  /** Factor over the largest peak (≥ 1). */
  readonly headroom: number;
  /** Figures are rounded up to a multiple of this. */
  readonly stepMb: number;
}

/** The built-in rule: max peak of the last 20 runs in 30 days × 1.2, rounded up to 64 MB. */
export const DEFAULT_MEM_RULE: MemRule = Object.freeze({
  windowDays: 30,
  lastRuns: 20,
  headroom: 1.2,
  stepMb: 64,
});

/** What to ask for when the name has no run in the window, and where that figure comes from. */
export interface MemFallback {
  readonly memMb: number;
  /** `name default` (set with `drover mem-default`) or `submit default` (512 MB). */
  readonly from: 'name default' | 'submit default';
}

/**
 * The decision and its provenance: the figure, which rule, which runs it rests on and which
 * peak decided it; or, without history, the fallback and where it came from. Recorded as the
 * `memSizing` of `job.submitted`; `show` and `explain` print it.
 */
export interface MemSizing {
  readonly mode: 'auto';
  readonly memMb: number;
  readonly source: 'history' | 'fallback';
  readonly name: string;
  /** When it was decided (epoch ms): the window ends here. */
  readonly decidedAt: number;
  readonly rule: MemRule;
  /** The runs considered, oldest first (empty on a fallback). */
  readonly runs: readonly PeakRun[];
  /** The largest peak among them and its worker. */
  readonly peakMb?: number;
  readonly peakWorker?: string;
  readonly fallback?: MemFallback['from'];
  /** One line of words saying all of the above. */
  readonly message: string;
}

const DAY_MS = 86_400_000;

/** `x` rounded up to a multiple of `step` (at least one step). Pure. */
export function roundUpMb(x: number, step: number): number {
  return Math.max(step, Math.ceil(x / step) * step);
}

/**
 * The runs the rule rests on: those of the window (ended at or after `now - windowDays`, not
 * after `now`), the most recent `lastRuns` of them, plus the window's largest OOM-killed run
 * when it is older than those (a run killed for memory is the one a guess must never forget).
 * Oldest first. Pure.
 */
export function runsConsidered(history: readonly PeakRun[], now: number, rule: MemRule): PeakRun[] {
  const from = now - rule.windowDays * DAY_MS;
  const inWindow = history
    .filter((r) => r.at >= from && r.at <= now)
    .sort((a, b) => a.at - b.at || (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
  const recent = inWindow.slice(Math.max(0, inWindow.length - Math.max(1, rule.lastRuns)));
  let oom: PeakRun | undefined;
  for (const r of inWindow)
    if (r.cause === 'OutOfMemory' && (!oom || r.peakMb > oom.peakMb)) oom = r;
  if (oom && !recent.includes(oom)) return [oom, ...recent];
  return recent;
}

const mb = (x: number) => `${Math.round(x)} MB`;

/**
 * Decide `--mem auto` for a job named `name` at `now`: the largest peak of the runs considered
 * (`runsConsidered`) × headroom, rounded up to the step; the fallback's figure when there is no
 * run. Never below the largest OOM-killed peak of the window, monotone in the headroom. Pure.
 *
 * @example decideMemAuto({ name: 'etl', now, history: [{ worker: 'j1:0:1', at: now - 1, peakMb: 1000, cause: 'OutOfMemory' }], fallback: { memMb: 512, from: 'submit default' } }).memMb === 1216
 */
export function decideMemAuto(input: {
  readonly name: string;
  readonly now: number;
  readonly history: readonly PeakRun[];
  readonly fallback: MemFallback;
  readonly rule?: MemRule;
}): MemSizing {
  const rule = input.rule ?? DEFAULT_MEM_RULE;
  const runs = runsConsidered(input.history, input.now, rule);
  const base = { mode: 'auto' as const, name: input.name, decidedAt: input.now, rule };
  if (runs.length === 0) {
    const { memMb, from } = input.fallback;
    return {
      ...base,
      memMb,
      source: 'fallback',
      runs: [],
      fallback: from,
      message: `no run of "${input.name}" in the last ${rule.windowDays} days: ${memMb} MB, the ${from}`,
    };
  }
  let top = runs[0] as PeakRun;
  for (const r of runs) if (r.peakMb > top.peakMb) top = r;
  const memMb = roundUpMb(top.peakMb * Math.max(1, rule.headroom), rule.stepMb);
  const ooms = runs.filter((r) => r.cause === 'OutOfMemory').length;
  const killed = ooms > 0 ? `, ${ooms} killed for memory` : '';
  return {
    ...base,
    memMb,
    source: 'history',
    runs,
    peakMb: top.peakMb,
    peakWorker: top.worker,
    message:
      `${memMb} MB = max peak ${mb(top.peakMb)} (${top.worker}${top.cause === 'OutOfMemory' ? ', killed for memory' : ''})` +
      ` of ${runs.length} run(s) of "${input.name}" in the last ${rule.windowDays} days${killed}` +
      ` × ${rule.headroom}, rounded up to ${rule.stepMb} MB`,
  };
}
