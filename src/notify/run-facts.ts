import { stateName } from '../actors/index.js';
import type { ReadModel } from '../api/index.js';
import { chunkId } from '../events/index.js';
import type { RunDeadline } from '../policy/alerts/index.js';
import {
  deadlineOf,
  isRunTerminal,
  scheduleZone,
  type RunFacts,
  type TaskFacts,
} from '../policy/pipeline/index.js';

/** The highest attempt among a job's chunks (0 before any started). Pure. */
function attemptsOf(model: ReadModel, jobId: string): number {
  const chunks = model.jobs.get(jobId)?.context.spec?.chunks ?? 0;
  let most = 0;
  for (let i = 0; i < Math.min(chunks, 1000); i++)
    for (const a of model.chunks.get(chunkId(jobId, i))?.context.attempts ?? [])
      most = Math.max(most, a.attempt);
  return most;
}

/**
 * Every run of the read model as the notifications and the deadline alert read it: the workflow
 * version it ran, its zone (the schedule's, else its calendar's), its tasks' jobs. Pure.
 */
export function runFactsOf(model: ReadModel): RunFacts[] {
  const out: RunFacts[] = [];
  for (const [run, snap] of model.runs) {
    const c = snap.context;
    const wf = c.workflow === undefined ? undefined : model.workflows.get(c.workflow);
    const def = wf?.context.versions[(c.workflowVersion ?? 0) - 1];
    if (!def || c.date === undefined) continue;
    const calName = def.schedule?.calendar;
    const calSnap = calName === undefined ? undefined : model.calendars.get(calName);
    const cal = calSnap?.context.versions[(c.calendarVersion ?? 0) - 1];
    const tasks: TaskFacts[] = [];
    for (const [task, record] of Object.entries(c.tasks)) {
      const job = record.jobId === undefined ? undefined : model.jobs.get(record.jobId);
      if (!job || record.jobId === undefined) continue;
      tasks.push({
        task,
        jobId: record.jobId,
        state: stateName(job),
        ...(job.context.endedAt !== undefined && { endedAt: job.context.endedAt }),
        attempts: attemptsOf(model, record.jobId),
      });
    }
    out.push({
      run,
      workflow: def,
      date: c.date,
      zone: scheduleZone(def, cal && { version: c.calendarVersion ?? 0, calendar: cal }),
      state: stateName(snap),
      createdAt: c.createdAt ?? 0,
      ...(c.endedAt !== undefined && { endedAt: c.endedAt }),
      ...(c.firstEndedAt !== undefined && { firstEndedAt: c.firstEndedAt }),
      reruns: c.reruns ?? 0,
      tasks,
      notified: c.notified ?? {},
    });
  }
  return out;
}

/**
 * The alerts' "run past its deadline" feed: every run with a deadline created before it, with
 * when it ended (the rule fires for one not ended past its deadline). Pure.
 */
export function runDeadlinesOf(model: ReadModel): RunDeadline[] {
  return runFactsOf(model).flatMap((r) => {
    const deadline = deadlineOf(r);
    if (deadline === undefined || r.createdAt >= deadline) return [];
    const ended = isRunTerminal(r.state) ? (r.endedAt ?? r.createdAt) : undefined;
    return [{ run: r.run, deadline, ...(ended !== undefined && { endedAt: ended }) }];
  });
}
