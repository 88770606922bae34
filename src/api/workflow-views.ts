import {
  latestCalendar,
  latestWorkflow,
  stateName,
  type WorkflowSnapshot,
} from '../actors/index.js';
import type { CalendarVersion } from '../policy/calendar/index.js';
import { isoInZone, nextFires } from '../policy/calendar/index.js';
import { scheduleZone, taskStateOf } from '../policy/pipeline/index.js';
import type { ReadModel } from './read-model.js';

/** A row of `drover workflow list` (CONTRACT): `next` is the next fire, ISO in the schedule's zone. */
export interface WorkflowRow {
  name: string;
  version: number;
  paused: boolean;
  next: string | null;
}

/** A task of `drover runs` (CONTRACT): its job (null when it never got one) and state. */
export interface RunTaskView {
  task: string;
  jobId: string | null;
  state: string;
  reason?: string;
}

/** A run of `drover runs` (CONTRACT), with the versions that decided it. */
export interface RunView {
  run: string;
  date: string;
  state: string;
  workflowVersion: number;
  calendarVersion: number | null;
  trigger: string;
  jobId: string;
  tasks: RunTaskView[];
}

/** The calendar version a workflow's schedule reads now (its latest), if any. Pure. */
export function calendarOf(model: ReadModel, wf: WorkflowSnapshot): CalendarVersion | undefined {
  const name = latestWorkflow(wf).workflow?.schedule?.calendar;
  const snap = name === undefined ? undefined : model.calendars.get(name);
  const { version, calendar } = snap ? latestCalendar(snap) : { version: 0 };
  return calendar ? { version, calendar } : undefined;
}

/** The next `count` fires of a workflow from `from`, ISO in its zone (none without a schedule). Pure. */
export function nextFireTimes(
  model: ReadModel,
  wf: WorkflowSnapshot,
  from: number,
  count: number,
): string[] {
  const w = latestWorkflow(wf).workflow;
  if (!w?.schedule) return [];
  const cal = calendarOf(model, wf);
  if (w.schedule.calendar !== undefined && !cal) return [];
  const zone = scheduleZone(w, cal);
  return nextFires(w.schedule, cal, from, count).map((f) => isoInZone(f.at, zone));
}

/** Every workflow, by name. Pure. */
export function workflowRows(model: ReadModel, now: number): WorkflowRow[] {
  return [...model.workflows.entries()]
    .filter(([, s]) => latestWorkflow(s).workflow !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, s]) => ({
      name,
      version: latestWorkflow(s).version,
      paused: stateName(s) === 'paused',
      next: stateName(s) === 'paused' ? null : (nextFireTimes(model, s, now, 1)[0] ?? null),
    }));
}

/** The runs of a workflow, newest logical date first, each with its tasks in workflow order. Pure. */
export function runViews(model: ReadModel, workflow: string, limit: number): RunView[] {
  const wf = model.workflows.get(workflow);
  const out: RunView[] = [];
  for (const [id, run] of model.runs) {
    const c = run.context;
    if (c.workflow !== workflow || c.date === undefined) continue;
    const def = wf?.context.versions[(c.workflowVersion ?? 1) - 1];
    const tasks = (def?.tasks ?? []).map((t): RunTaskView => {
      const record = c.tasks[t.id];
      const job = record?.jobId !== undefined ? model.jobs.get(record.jobId) : undefined;
      const state = taskStateOf(record, job && stateName(job));
      return {
        task: t.id,
        jobId: record?.jobId ?? null,
        state: state === 'undecided' ? 'scheduled' : state,
        ...(record?.reason !== undefined && { reason: record.reason }),
        ...(state === 'waiting' &&
          job?.context.holdReason !== undefined && { reason: job.context.holdReason }),
      };
    });
    out.push({
      run: id,
      date: c.date,
      state: stateName(run),
      workflowVersion: c.workflowVersion ?? 0,
      calendarVersion: c.calendarVersion ?? null,
      trigger: c.trigger ?? 'schedule',
      jobId: c.jobId ?? '',
      tasks,
    });
  }
  out.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
  return out.slice(0, limit);
}
