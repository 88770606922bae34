import type { JobSpec, Task, Workflow } from '../events/index.js';
import { toJobSpec } from '../events/index.js';
import type { Action, RuleContext } from './rules.js';
import { submissionSteps } from './work-messages.js';

/**
 * The jobs of a run (issue 17): the run's own job, parent of every task's job, and each task's
 * job. Pure. The run's job runs `true` once every task is decided: it exists so that cancel,
 * clear, explain, audit and fair share see a run as one job tree, with no special case.
 */
export function runJobSpec(run: string, user: string, w: Workflow): JobSpec {
  return toJobSpec(
    {
      name: run,
      user,
      command: ['true'],
      cpus: 0.01,
      memMb: 64,
      ...(w.cwd !== undefined && { cwd: w.cwd }),
    },
    `run ${run}`,
  );
}

/** A task's job: its command and resources, the run's job as parent, and the run in its env. */
export function taskJobSpec(
  run: { id: string; date: string; jobId: string },
  user: string,
  w: Workflow,
  t: Task,
): JobSpec {
  return toJobSpec(
    {
      name: `${w.name}.${t.id}`,
      user,
      command: t.command ?? ['true'],
      ...(t.cpus !== undefined && { cpus: t.cpus }),
      ...(t.memMb !== undefined && { memMb: t.memMb }),
      ...(t.gpus !== undefined && { gpus: t.gpus }),
      ...(t.retries !== undefined && { retries: t.retries }),
      ...(t.timeoutS !== undefined && { timeoutS: t.timeoutS }),
      parent: run.jobId,
      env: { ...t.env, DROVER_RUN: run.id, DROVER_LOGICAL_DATE: run.date, DROVER_TASK: t.id },
      ...(w.cwd !== undefined && { cwd: w.cwd }),
    },
    `task ${t.id} of ${run.id}`,
  );
}

/**
 * The commands that create a job held (with `hold` as the reason) or queued, in order: the
 * submission's own steps with the queueing replaced by a hold when the job must wait. Pure.
 */
export function jobCreation(
  ctx: RuleContext,
  jobId: string,
  spec: JobSpec,
  hold: string | undefined,
): Action[] {
  const { first, chunks } = submissionSteps(ctx, jobId, spec);
  if (hold === undefined) return [...first, ...chunks];
  const held: Action = {
    entity: 'job',
    id: jobId,
    command: {
      type: 'HoldJob',
      id: `hold:${jobId}`,
      at: ctx.now,
      by: ctx.by,
      data: { reason: hold.slice(0, 1000) },
    },
  };
  const steps = first.filter((a) => !(a.entity === 'job' && a.command.type === 'QueueJob'));
  return [...steps, held, ...chunks];
}

/** Release a held job (`release:<job>` once: a second release of the same hold is the same id). */
export function releaseJob(ctx: RuleContext, jobId: string, reason: string): Action {
  return {
    entity: 'job',
    id: jobId,
    command: {
      type: 'ReleaseJob',
      id: `release:${jobId}`,
      at: ctx.now,
      by: ctx.by,
      data: { reason },
    },
  };
}
