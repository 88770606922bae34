import { stateName, type ChunkSnapshot, type JobSnapshot } from '../actors/index.js';
import type { JobSpec, Task, Workflow } from '../events/index.js';
import { chunkId, toJobSpec } from '../events/index.js';
import type { Action, Peek, RuleContext } from './rules.js';
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

/** A job or chunk the log holds (a cached entity still in `none` was only seeded). */
const made = <S extends JobSnapshot | ChunkSnapshot>(s: S | undefined): s is S =>
  s !== undefined && stateName(s) !== 'none';

/** Where a job's missing chunk is still owed (ended or being cancelled: nothing is owed). */
const OPEN = new Set(['queued', 'held', 'running']);

/**
 * Whether some step of the creation of a job the timekeeper makes is still owed: the job is
 * unknown, or only `submitted`, or open without every chunk. Pure. Its creation is several
 * appends (`jobCreation`), and a leader killed between two of them left it half made: submitted
 * but neither queued nor held (nothing places it, nothing releases it) or without its chunk
 * (nothing to place). The intake finishes its own jobs by redelivery; the timekeeper's have
 * none, so it asks this, and finishes them with `unfinishedCreation`.
 */
export function creationOwed(peek: Peek, jobId: string): boolean {
  const job = peek.job(jobId);
  if (!made(job) || stateName(job) === 'submitted') return true;
  if (!OPEN.has(stateName(job))) return false;
  for (let i = 0; i < job.context.chunks.total; i++)
    if (!made(peek.chunk(chunkId(jobId, i)))) return true;
  return false;
}

/**
 * The steps of `jobCreation` that the log does not hold yet, as `peek` sees it, in order: what a
 * leader killed half way through left undone (none once nothing is owed). Pure. Each step keeps
 * its command id, so one that did land after all is recognised as a duplicate and written once.
 * The queueing (or the hold) is left out once the job went past `submitted`: a job released
 * since must not be held again.
 */
export function unfinishedCreation(
  ctx: RuleContext,
  jobId: string,
  spec: JobSpec,
  hold: string | undefined,
): Action[] {
  if (!creationOwed(ctx.peek, jobId)) return [];
  const job = ctx.peek.job(jobId);
  const state = made(job) ? stateName(job) : 'none';
  return jobCreation(ctx, jobId, spec, hold).filter((a) => {
    if (a.entity === 'chunk') return !made(ctx.peek.chunk(a.id));
    if (a.entity !== 'job') return true;
    switch (a.command.type) {
      case 'AddChild':
        return !Object.hasOwn(ctx.peek.job(a.id)?.context.children ?? {}, jobId);
      case 'SubmitJob':
        return state === 'none';
      default:
        return state === 'none' || state === 'submitted';
    }
  });
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
