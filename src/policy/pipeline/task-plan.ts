import type { Calendar, Task, Workflow } from '../../events/index.js';
import { isSession } from '../calendar/sessions.js';
import { dayNumber, isoInZone, isoWeekday, zoneClock } from '../calendar/zoned-time.js';
import { topoOrder } from './workflow-data.js';

/**
 * A task of a run as the plan sees it: `undecided` (no job yet), `waiting` (its job is held by
 * the run: a sensor, depends-on-past), its job's state, or decided not to run.
 */
export type TaskState =
  | 'undecided'
  | 'waiting'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped'
  | 'upstream_failed';

const DONE: ReadonlySet<TaskState> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'upstream_failed',
]);
const FAILED: ReadonlySet<TaskState> = new Set(['failed', 'cancelled', 'upstream_failed']);
/** Whether a task will change no more in this run. Pure. */
export const isTaskDone = (s: TaskState): boolean => DONE.has(s);

/** Everything the plan of one run needs, time passed in. */
export interface RunPlanInput {
  readonly run: string;
  readonly workflow: Workflow;
  /** The logical date (`YYYY-MM-DD`, or with `THHMMSS`). */
  readonly date: string;
  readonly zone: string;
  readonly calendar?: Calendar;
  readonly now: number;
  readonly tasks: Readonly<Record<string, TaskState>>;
  /** The previous run by logical date (not skipped), for `dependsOnPast`. */
  readonly previous?: { readonly run: string; readonly tasks: Readonly<Record<string, TaskState>> };
}

/** What to do for one task now. */
export type TaskStep =
  | { readonly task: string; readonly kind: 'submit'; readonly hold?: string }
  | { readonly task: string; readonly kind: 'release' }
  | {
      readonly task: string;
      readonly kind: 'skip';
      readonly state: 'skipped' | 'upstream_failed';
      readonly reason: string;
    };

type Verdict = 'wait' | 'run' | { state: 'skipped' | 'upstream_failed'; reason: string };

/**
 * What a task's `after` tasks allow, by its trigger rule. Pure. A task whose upstream tasks were
 * all skipped is skipped ("everything only downstream of a false condition"), whatever its rule.
 */
export function triggerVerdict(task: Task, upstream: readonly [string, TaskState][]): Verdict {
  if (!upstream.length) return 'run';
  const done = upstream.every(([, s]) => DONE.has(s));
  const failed = upstream.find(([, s]) => FAILED.has(s));
  const skipped = upstream.find(([, s]) => s === 'skipped');
  if (done && upstream.every(([, s]) => s === 'skipped'))
    return { state: 'skipped', reason: 'every upstream task was skipped' };
  switch (task.trigger) {
    case 'all_success':
      if (failed) return { state: 'upstream_failed', reason: `upstream ${failed[0]} ${failed[1]}` };
      if (skipped) return { state: 'skipped', reason: `upstream ${skipped[0]} was skipped` };
      return done ? 'run' : 'wait';
    case 'all_done':
      return done ? 'run' : 'wait';
    case 'one_failed':
      if (failed) return 'run';
      return done ? { state: 'skipped', reason: 'one_failed: no upstream task failed' } : 'wait';
    case 'none_failed':
      if (failed) return { state: 'upstream_failed', reason: `upstream ${failed[0]} ${failed[1]}` };
      return done ? 'run' : 'wait';
    default: {
      const _exhaustive: never = task.trigger;
      return _exhaustive;
    }
  }
}

/** Whether a task's `when` holds on the run's date (`trading_day` without a calendar: Mon-Fri). Pure. */
export function conditionHolds(when: string | undefined, date: string, cal?: Calendar): boolean {
  if (when === undefined) return true;
  const day = date.slice(0, 10);
  const weekday = isoWeekday(dayNumber(day));
  if (when.startsWith('weekday:')) return weekday === Number(when.slice(8));
  const trading = cal ? isSession(cal, day) : weekday <= 5;
  return when === 'trading_day' ? trading : !trading;
}

/**
 * Why a task that may run must still wait, in words (undefined: it may start): its `waitUntil`
 * time on the run's date in the schedule's zone, and `dependsOnPast` (the same task of the
 * previous run must have succeeded, or been skipped; the words name that run). Pure.
 */
export function taskBlocker(input: RunPlanInput, task: Task): string | undefined {
  const why: string[] = [];
  if (task.waitUntil !== undefined) {
    const at = zoneClock(input.zone).instant(input.date.slice(0, 10), task.waitUntil);
    if (input.now < at)
      why.push(`waitUntil ${task.waitUntil} ${input.zone} (${isoInZone(at, input.zone)})`);
  }
  const prev = input.previous;
  if (input.workflow.schedule?.dependsOnPast && prev) {
    const s = prev.tasks[task.id] ?? 'undecided';
    if (s !== 'succeeded' && s !== 'skipped')
      why.push(`dependsOnPast: task ${task.id} of run ${prev.run} is ${s}, not succeeded`);
  }
  return why.length ? why.join('; ') : undefined;
}

/**
 * The steps that move one run on at `now`. Pure and level-triggered: the same states give the
 * same steps, so a scheduler that takes over mid-run does what the last one would have. Tasks
 * are visited in dependency order and a decision is seen by the tasks after it in the same call
 * (a skip reaches everything only downstream at once). Undecided tasks: the trigger rule, then
 * the condition (false: `skipped`), then submitted, held with the blocker's words if any. Held
 * (waiting) tasks are released once nothing blocks them.
 */
export function planRun(input: RunPlanInput): TaskStep[] {
  const topo = topoOrder(input.workflow);
  if ('cycle' in topo) return [];
  const byId = new Map(input.workflow.tasks.map((t) => [t.id, t]));
  const states = new Map(Object.entries(input.tasks));
  const out: TaskStep[] = [];
  for (const id of topo.order) {
    const task = byId.get(id) as Task;
    const state = states.get(id) ?? 'undecided';
    if (state === 'waiting') {
      if (taskBlocker(input, task) === undefined) out.push({ task: id, kind: 'release' });
      continue;
    }
    if (state !== 'undecided') continue;
    const up = task.after.map((u): [string, TaskState] => [u, states.get(u) ?? 'undecided']);
    const verdict = triggerVerdict(task, up);
    if (verdict === 'wait') continue;
    if (verdict !== 'run') {
      out.push({ task: id, kind: 'skip', ...verdict });
      states.set(id, verdict.state);
      continue;
    }
    if (!conditionHolds(task.when, input.date, input.calendar)) {
      const reason = `condition ${task.when} is false on ${input.date.slice(0, 10)}`;
      out.push({ task: id, kind: 'skip', state: 'skipped', reason });
      states.set(id, 'skipped');
      continue;
    }
    const hold = taskBlocker(input, task);
    out.push({ task: id, kind: 'submit', ...(hold !== undefined && { hold }) });
  }
  return out;
}

/**
 * How a run ends once its job is terminal and every task is done: `cancelled` when its job was
 * cancelled, `failed` when a task failed (or could not run for it), `skipped` when every task was
 * skipped, else `succeeded`. Undefined while anything can still change. Pure.
 */
export function runOutcome(
  tasks: Readonly<Record<string, TaskState>>,
  jobState: string,
): 'succeeded' | 'failed' | 'cancelled' | 'skipped' | undefined {
  const all = Object.values(tasks);
  if (jobState === 'cancelled') return 'cancelled';
  if (!['succeeded', 'failed'].includes(jobState) || !all.every((s) => DONE.has(s)))
    return undefined;
  if (all.some((s) => FAILED.has(s))) return 'failed';
  if (all.every((s) => s === 'skipped')) return 'skipped';
  return 'succeeded';
}

/**
 * A task's state from what its run recorded and its job's state (undefined: no job yet). A held
 * job is a task `waiting` (for its sensor or the previous run), a cancelling one still runs. Pure.
 */
export function taskStateOf(
  record: { readonly jobId?: string; readonly skipped?: 'skipped' | 'upstream_failed' } | undefined,
  jobState: string | undefined,
): TaskState {
  if (!record) return 'undecided';
  if (record.skipped) return record.skipped;
  switch (jobState) {
    case undefined:
    case 'none':
    case 'submitted':
    case 'queued':
      return 'queued';
    case 'held':
      return 'waiting';
    case 'running':
    case 'cancelling':
      return 'running';
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return jobState;
    default:
      return 'queued';
  }
}

/**
 * The job ids of a run and of its tasks (CONTRACT ids are letters, digits, `_` and `-`). Pure.
 * Rerun `n` of a run gets new jobs, `-rN` after the first run's ids: a job that ended stays the
 * record of what ran, and the run's old job takes no new children.
 */
export const runJobId = (workflow: string, date: string, rerun = 0): string =>
  `${workflow}_${date}${rerun > 0 ? `-r${rerun}` : ''}`;
export const taskJobId = (workflow: string, date: string, task: string, rerun = 0): string =>
  `${workflow}_${date}_${task}${rerun > 0 ? `-r${rerun}` : ''}`;
