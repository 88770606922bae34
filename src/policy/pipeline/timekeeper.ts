import type { Workflow } from '../../events/index.js';
import { nextFires, type CalendarVersion, type Fire } from '../calendar/next-fires.js';
import { isoInZone, localDate } from '../calendar/zoned-time.js';

/** The workflow as the timekeeper reads it: its latest version and when its schedule began. */
export interface ScheduledWorkflow {
  readonly name: string;
  readonly version: number;
  readonly workflow: Workflow;
  /** When the first version was applied: nothing before it is due. */
  readonly since: number;
  readonly paused: boolean;
}

/** What the timekeeper knows of a workflow's existing runs. */
export interface RunFact {
  readonly date: string;
  readonly trigger: 'schedule' | 'manual' | 'backfill';
  readonly fireAt: number;
  /** The run machine's state (`scheduled`, `running`, `succeeded`, ...). */
  readonly state: string;
}

/** A run to create now, in logical-date order; with `skip`, created as skipped (and why). */
export interface DueRun {
  readonly date: string;
  readonly fireAt: number;
  readonly calendarVersion?: number;
  readonly skip?: string;
}

/** Most fires one call looks at (a long downtime is caught up over a few ticks). */
export const MAX_DUE = 1000;
/** A fire later than this when first seen was missed (a failover is far quicker). */
export const DEFAULT_GRACE_MS = 5 * 60_000;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);
/** Whether a run state is final. Pure. */
export const isRunTerminal = (state: string): boolean => TERMINAL.has(state);

/** The zone a workflow's dates and `waitUntil` times are read in. Pure. */
export function scheduleZone(w: Workflow, cal: CalendarVersion | undefined): string {
  return w.schedule?.timezone ?? cal?.calendar.timezone ?? 'UTC';
}

const REFERENCE = Date.UTC(2001, 0, 1); // a Monday: the probe of how often a schedule fires

/**
 * Whether the schedule may fire more than once on a local date (`*\/5 * * * * *`): then a run's
 * logical date carries the local time too. Decided from the schedule alone (its first fires after
 * a fixed Monday), so every scheduler names the same fire the same run. Pure.
 */
export function firesIntraday(w: Workflow): boolean {
  const s = w.schedule;
  if (!s?.cron) return false;
  const zone = s.timezone ?? 'UTC';
  const fires = nextFires({ cron: s.cron, timezone: zone }, undefined, REFERENCE, 16);
  return fires.some((f, i) => i > 0 && f.date === fires[i - 1]?.date);
}

/** The logical date of a fire: its date, with `THHMMSS` for an intraday schedule. Pure. */
export function logicalDate(fire: Fire, intraday: boolean, zone: string): string {
  if (!intraday) return fire.date;
  return `${localDate(fire.at, zone)}T${isoInZone(fire.at, zone).slice(11, 19).replaceAll(':', '')}`;
}

const BATCH = 32;
/** The fires from `from` to `now` (both included), at most `MAX_DUE`, asked for in small batches. */
function firesUpTo(
  w: Workflow,
  cal: CalendarVersion | undefined,
  from: number,
  now: number,
): Fire[] {
  const s = w.schedule;
  const out: Fire[] = [];
  let cursor = from;
  while (s && out.length < MAX_DUE && cursor <= now) {
    const batch = nextFires(s, cal, cursor, BATCH);
    const inTime = batch.filter((f) => f.at <= now);
    out.push(...inTime);
    const lastFire = batch[batch.length - 1];
    if (inTime.length < batch.length || batch.length < BATCH || !lastFire) break;
    cursor = lastFire.at + 1;
  }
  return out.slice(0, MAX_DUE);
}

/** The run id of a logical date (CONTRACT: `NAME@DATE`). Pure. */
export const runId = (workflow: string, date: string): string => `${workflow}@${date}`;

/**
 * The runs of one workflow to create at `now`. Pure: the same inputs give the same runs, so a
 * standby that takes over computes what the leader would have; the run's id and its creating
 * append (expected: no prior event) make each fire happen once whoever computes it.
 *
 * Fires are looked for after the last scheduled run's fire (or the workflow's start) up to `now`,
 * between `schedule.start` and `end`, minus dates that have a run already. A fire older than
 * `graceMs` was missed (the farm had no leading scheduler): `catchup: all` fires each, in
 * logical-date order; `latest` only the last one due; `none` none. Fires not fired are created
 * `skipped` with why, so the next call starts after them and `drover runs` shows them. On-time
 * fires obey `overlap`: `skip` when a run is still active, `buffer-one` when one already waits
 * behind it, `allow` always.
 */
export function dueRuns(
  wf: ScheduledWorkflow,
  cal: CalendarVersion | undefined,
  now: number,
  runs: readonly RunFact[],
  graceMs = DEFAULT_GRACE_MS,
): DueRun[] {
  const s = wf.workflow.schedule;
  if (!s || wf.paused) return [];
  const zone = scheduleZone(wf.workflow, cal);
  const intraday = firesIntraday(wf.workflow);
  const last = runs
    .filter((r) => r.trigger === 'schedule')
    .reduce((m, r) => Math.max(m, r.fireAt), -1);
  const from = Math.max(wf.since, last + 1);
  const existing = new Set(runs.map((r) => r.date));
  const fires = firesUpTo(wf.workflow, cal, from, now);
  const due = fires
    .map((f) => ({ fire: f, date: logicalDate(f, intraday, zone) }))
    .filter(({ date }) => !existing.has(date))
    .filter(
      ({ date }) =>
        (s.start === undefined || date.slice(0, 10) >= s.start) &&
        (s.end === undefined || date.slice(0, 10) <= s.end),
    );
  // Runs that will not have finished when this one is created: active ones and those fired now.
  let ahead = runs.filter((r) => !isRunTerminal(r.state)).length;
  const out: DueRun[] = [];
  due.forEach(({ fire, date }, i) => {
    const base = {
      date,
      fireAt: fire.at,
      ...(fire.calendarVersion !== undefined && { calendarVersion: fire.calendarVersion }),
    };
    const missed = fire.at < now - graceMs;
    const when = isoInZone(fire.at, zone);
    if (missed && s.catchup === 'none')
      return out.push({ ...base, skip: `missed (due ${when}); catchup none` });
    if (missed && s.catchup === 'latest' && i < due.length - 1)
      return out.push({
        ...base,
        skip: `missed (due ${when}); catchup latest fires only the last`,
      });
    if (!missed && s.overlap === 'skip' && ahead > 0)
      return out.push({ ...base, skip: 'overlap skip: an earlier run is still active' });
    if (!missed && s.overlap === 'buffer-one' && ahead > 1)
      return out.push({ ...base, skip: 'overlap buffer-one: a run already waits for its turn' });
    ahead += 1;
    return out.push(base);
  });
  return out;
}
