import { latestCalendar, latestWorkflow } from '../actors/index.js';
import type { ReadModel, RunView } from '../api/index.js';
import { isoInZone, localDate } from '../policy/calendar/index.js';
import { scheduleZone } from '../policy/pipeline/index.js';

/** One cell of the runs grid: a task of a run, its state and the job that ran it (if any). */
export interface GridCell {
  task: string;
  state: string;
  jobId: string | null;
}

/** One row of the runs grid: a run and its cells, one per column (absent tasks: `none`). */
export interface GridRow {
  run: string;
  date: string;
  state: string;
  trigger: string;
  workflowVersion: number;
  cells: GridCell[];
}

/** The runs grid (Airflow's grid view): rows are runs newest first, columns are tasks. */
export interface RunGrid {
  tasks: string[];
  rows: GridRow[];
}

/** When a job started and ended (ms), as the read model has them. */
export interface JobTimes {
  startedAt?: number;
  endedAt?: number;
}

/** A task's bar on a run's Gantt: absent `start` when its job never started, `end` while running. */
export interface GanttBar {
  task: string;
  jobId: string | null;
  state: string;
  start?: number;
  end?: number;
}

/** Per-task series over runs oldest first: durations (s) and landing times (hours of day). */
export interface TaskSeries {
  runs: string[];
  tasks: string[];
  /** `durations[i][j]`: task `tasks[i]` of run `runs[j]` in seconds (null: did not end). */
  durations: (number | null)[][];
  /** `landing[i][j]`: the time of day the task ended, in hours in the schedule's zone. */
  landing: (number | null)[][];
}

/**
 * The grid of `runs` (as `runs.list` answers, newest first). Columns are the tasks of the
 * newest run's version in workflow order, then tasks only older versions had. Pure.
 */
export function runGrid(runs: readonly RunView[]): RunGrid {
  const tasks: string[] = [];
  for (const r of runs) for (const t of r.tasks) if (!tasks.includes(t.task)) tasks.push(t.task);
  const rows = runs.map((r) => {
    const by = new Map(r.tasks.map((t) => [t.task, t]));
    const cells = tasks.map((task): GridCell => {
      const t = by.get(task);
      return { task, state: t?.state ?? 'none', jobId: t?.jobId ?? null };
    });
    const { run, date, state, trigger, workflowVersion } = r;
    return { run, date, state, trigger, workflowVersion, cells };
  });
  return { tasks, rows };
}

/** A run's Gantt: one bar per task in workflow order, from its job's start and end. Pure. */
export function runGantt(run: RunView, times: (jobId: string) => JobTimes | undefined): GanttBar[] {
  return run.tasks.map((t) => {
    const tm = t.jobId === null ? undefined : times(t.jobId);
    return {
      task: t.task,
      jobId: t.jobId,
      state: t.state,
      ...(tm?.startedAt !== undefined && { start: tm.startedAt }),
      ...(tm?.endedAt !== undefined && { end: tm.endedAt }),
    };
  });
}

/** Hours since local midnight of instant `t` in `zone` (13.5 is 13:30). Pure. */
export function hourOfDay(t: number, zone: string): number {
  const hms = isoInZone(t, zone).slice(11, 19);
  const [h, m, s] = hms.split(':').map(Number);
  return (h ?? 0) + (m ?? 0) / 60 + (s ?? 0) / 3600;
}

/**
 * Durations and landing times of each task over `runs` (newest first in, oldest first out, as
 * charts read left to right). A task that did not start and end has null there. Pure.
 */
export function taskSeries(
  runs: readonly RunView[],
  times: (jobId: string) => JobTimes | undefined,
  zone: string,
): TaskSeries {
  const ordered = [...runs].reverse();
  const { tasks } = runGrid(runs);
  const ended = (task: string, r: RunView) => {
    const jobId = r.tasks.find((t) => t.task === task)?.jobId;
    const tm = jobId ? times(jobId) : undefined;
    return tm?.startedAt !== undefined && tm.endedAt !== undefined ? tm : undefined;
  };
  const durations = tasks.map((task) =>
    ordered.map((r) => {
      const tm = ended(task, r);
      return tm ? (tm.endedAt! - tm.startedAt!) / 1000 : null;
    }),
  );
  const landing = tasks.map((task) =>
    ordered.map((r) => {
      const tm = ended(task, r);
      return tm ? hourOfDay(tm.endedAt!, zone) : null;
    }),
  );
  return { runs: ordered.map((r) => r.run), tasks, durations, landing };
}

/** The time zone a workflow's schedule reads (UTC without one), from the read model. Pure. */
export function workflowZone(model: ReadModel, name: string): string {
  const wf = model.workflows.get(name);
  const w = wf ? latestWorkflow(wf).workflow : undefined;
  if (!w) return 'UTC';
  const calName = w.schedule?.calendar;
  const snap = calName === undefined ? undefined : model.calendars.get(calName);
  const latest = snap ? latestCalendar(snap) : undefined;
  const cal = latest?.calendar ? { version: latest.version, calendar: latest.calendar } : undefined;
  return scheduleZone(w, cal);
}

/** What a workflow's schedule does with fires missed (while paused or down): CONTRACT default `all`. Pure. */
export function workflowCatchup(model: ReadModel, name: string): 'all' | 'latest' | 'none' {
  const wf = model.workflows.get(name);
  return (wf && latestWorkflow(wf).workflow?.schedule?.catchup) ?? 'all';
}

/** The logical date a manual trigger without a date runs now: today in the schedule's zone. Pure. */
export function triggerDate(zone: string, now: number): string {
  return localDate(now, zone);
}
