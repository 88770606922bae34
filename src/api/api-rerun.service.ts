import { z } from 'zod';
import { jobBehaviour, runBehaviour, stateName, type RunSnapshot } from '../actors/index.js';
import { EntityIdSchema, ErrorCodes, SchedulerError, type Workflow } from '../events/index.js';
import { runJobId, selectRerun, taskStateOf, type TaskState } from '../policy/pipeline/index.js';
import { actorOf, metaOf, type ApiContext, type Handler } from './api-context.js';
import { parseRequest } from './protocol.js';
import { cancelPlan, clearPlan } from './plans.js';

/** `drover.api.run.rerun` (CONTRACT `drover rerun`). `expect`: the listing the person saw. */
export const RerunRequestSchema = z.strictObject({
  run: z
    .string()
    .min(3)
    .max(200)
    .regex(/^[^@\s]+@\S+$/, 'expected a run id NAME@DATE'),
  task: EntityIdSchema.optional(),
  downstream: z.boolean().default(false),
  failed: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  expect: z.array(EntityIdSchema).max(200).optional(),
  reason: z.string().max(1000).optional(),
  by: z.string().min(1).max(64).optional(),
});

/** A task instance a rerun clears and runs again (CONTRACT `{ task, jobId, state }`). */
export interface RerunTaskView {
  task: string;
  jobId: string | null;
  state: string;
}

/** Run states a rerun may start from: the run ended and ran something. */
const RERUNNABLE = new Set(['succeeded', 'failed', 'cancelled']);

function definitionOf(ctx: ApiContext, run: RunSnapshot): Workflow | undefined {
  const c = run.context;
  const wf = c.workflow === undefined ? undefined : ctx.live.model.workflows.get(c.workflow);
  return wf?.context.versions[(c.workflowVersion ?? 0) - 1];
}

function taskStates(ctx: ApiContext, run: RunSnapshot, w: Workflow): Record<string, TaskState> {
  return Object.fromEntries(
    w.tasks.map((t) => {
      const record = run.context.tasks[t.id];
      const job = record?.jobId !== undefined ? ctx.live.model.jobs.get(record.jobId) : undefined;
      return [t.id, taskStateOf(record, job && stateName(job))];
    }),
  );
}

/**
 * Why the rerun cannot happen now, in words naming what is alive: the run has not ended (its
 * live processes, from the cancel plan of its job), or a picked task's job is not terminal or
 * has a process not confirmed stopped (the kernel's clear plan of that job). Pure over the model.
 */
function blockersOf(
  ctx: ApiContext,
  run: RunSnapshot,
  id: string,
  tasks: RerunTaskView[],
): string[] {
  const state = stateName(run);
  const out: string[] = [];
  if (!RERUNNABLE.has(state)) {
    if (state === 'skipped') return [`run ${id} was skipped: nothing of it ran`];
    const plan = run.context.jobId ? cancelPlan(ctx.live.model, run.context.jobId) : undefined;
    const procs = (plan?.processes ?? []).map(
      (p) =>
        `process ${p.worker} on ${p.node} is ${p.state}${p.pid !== undefined ? ` (pid ${p.pid})` : ''}`,
    );
    out.push(`run ${id} is ${state}${procs.length ? `: ${procs.join('; ')}` : ''}`);
  }
  for (const t of tasks) {
    if (t.jobId === null) continue;
    const plan = clearPlan(ctx.live.model, t.jobId);
    for (const b of plan?.blockers ?? [])
      if (b.why !== 'results are already cleared') out.push(b.why);
  }
  return [...new Set(out)];
}

/**
 * The jobs of the run's tasks that `drover compact` moved to the archive, by task: closed
 * history (nothing is appended to them again, so they are not cleared), and unknown to the
 * scheduler, which reads the live log only. One direct get per job (`archivedJob`).
 */
async function archivedTaskJobs(ctx: ApiContext, run: RunSnapshot): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [task, record] of Object.entries(run.context.tasks)) {
    const job = record?.jobId;
    if (job !== undefined && (await ctx.archivedJob(job))) out.set(task, job);
  }
  return out;
}

/**
 * A rerun must not leave a task of the run on a compacted job: the timekeeper decides the rerun
 * tasks' trigger rules from the other tasks' jobs, and would read a compacted one (absent from
 * the live log) as still queued, so the rerun would wait for ever. Picked tasks start afresh.
 */
function archivedBlocker(id: string, archived: Map<string, string>, picked: readonly string[]) {
  const left = [...archived.keys()].filter((t) => !picked.includes(t));
  if (left.length === 0) return [];
  return [
    `tasks ${left.join(', ')} of run ${id} ran in jobs compacted to the archive (${left.map((t) => archived.get(t)).join(', ')}): the scheduler no longer knows their outcome; rerun them too (every task: no --task, no --failed)`,
  ];
}

/**
 * `drover.api.run.rerun`: the task instances of an ended run to clear and run again, picked by
 * `selectRerun` over the workflow version the run ran (BAD_INPUT naming `task`/`failed` when the
 * pick is empty). `dryRun` lists them with what blocks the rerun. Otherwise REFUSED while a
 * blocker holds (a process alive) or when the pick is not the `expect`ed listing; then each
 * picked task's old job is cleared through the kernel's `ClearResults` (except one compacted to
 * the archive: closed, listed in `archived`), and `run.rerun_requested`
 * (by whom, exactly which instances) puts the run back to `running` for the timekeeper.
 */
export const runRerun: Handler = async (ctx, req) => {
  const r = parseRequest('rerun request', RerunRequestSchema, req.body);
  const loaded = await ctx.runtime.load(runBehaviour, r.run);
  if (stateName(loaded.state) === 'none')
    throw new SchedulerError(ErrorCodes.NotFound, `no run ${r.run}`);
  await ctx.live.reach(loaded.lastSeq);
  const run = loaded.state;
  const def = definitionOf(ctx, run);
  if (!def)
    throw new SchedulerError(ErrorCodes.NotFound, `run ${r.run}: its workflow version is unknown`);
  const states = taskStates(ctx, run, def);
  const picked = selectRerun(def, states, {
    ...(r.task !== undefined && { task: r.task }),
    downstream: r.downstream,
    failed: r.failed,
  });
  if (!picked.ok) throw new SchedulerError(ErrorCodes.BadInput, picked.message);
  const tasks = picked.tasks.map((task) => ({
    task,
    jobId: run.context.tasks[task]?.jobId ?? null,
    state: states[task] === 'undecided' ? 'scheduled' : (states[task] ?? 'scheduled'),
  }));
  const compacted = await archivedTaskJobs(ctx, run);
  const blockers = [
    ...blockersOf(ctx, run, r.run, tasks),
    ...archivedBlocker(r.run, compacted, picked.tasks),
  ];
  // Picked instances whose old job was compacted run again without a clear (closed history).
  const archived = picked.tasks.flatMap((t) => compacted.get(t) ?? []);
  const shown = archived.length ? { archived } : {};
  if (r.dryRun) return { run: r.run, tasks, blockers, ...shown, dryRun: true };
  if (blockers.length)
    throw new SchedulerError(ErrorCodes.Refused, `rerun ${r.run} refused: ${blockers.join('; ')}`, {
      details: { run: r.run, tasks, blockers },
    });
  if (r.expect && r.expect.join(' ') !== picked.tasks.join(' '))
    throw new SchedulerError(
      ErrorCodes.Refused,
      `rerun ${r.run} refused: the run changed since the listing (now ${picked.tasks.join(', ')})`,
      { details: { run: r.run, tasks } },
    );
  const by = actorOf(req.caller, r.by);
  for (const t of tasks) {
    if (t.jobId === null || archived.includes(t.jobId)) continue;
    if (ctx.live.model.jobs.get(t.jobId)?.context.resultsCleared) continue;
    const out = await ctx.runtime.execute(jobBehaviour, t.jobId, {
      type: 'ClearResults',
      ...metaOf(ctx, req, by, `rerun-clear-${t.jobId}`),
    });
    if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  }
  const rerun = (run.context.reruns ?? 0) + 1;
  const jobId = runJobId(run.context.workflow ?? '', run.context.date ?? '', rerun);
  const out = await ctx.runtime.execute(runBehaviour, r.run, {
    type: 'RerunTasks',
    ...metaOf(ctx, req, by, 'rerun'),
    data: { rerun, tasks, jobId, ...(r.reason !== undefined && { reason: r.reason }) },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { run: r.run, tasks, rerun, jobId, ...shown, dryRun: false };
};
