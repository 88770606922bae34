import { z } from 'zod';
import {
  latestWorkflow,
  runBehaviour,
  stateName,
  workflowBehaviour,
  type WorkflowSnapshot,
} from '../actors/index.js';
import { ErrorCodes, IsoDateSchema, SchedulerError, WorkflowNameSchema } from '../events/index.js';
import { describeIssues, localDate, nextFires } from '../policy/calendar/index.js';
import {
  firesIntraday,
  logicalDate,
  parseWorkflow,
  runId,
  runJobId,
  scheduleZone,
} from '../policy/pipeline/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest, type Handler } from './api-context.js';
import { parseRequest, type WORKFLOW_OPS } from './protocol.js';
import { runRerun } from './api-rerun.service.js';
import { calendarOf, nextFireTimes, runViews, workflowRows } from './workflow-views.js';

const Name = WorkflowNameSchema;
const By = z.string().min(1).max(64);

/** Request bodies of the workflow operations (strict: unknown fields are named and refused). */
export const WorkflowRequestSchemas = {
  'workflow.apply': z.strictObject({ workflow: z.unknown(), by: By.optional() }),
  'workflow.list': z.strictObject({}),
  'workflow.next': z.strictObject({
    name: Name,
    count: z.number().int().min(1).max(1000).default(5),
    from: z.number().int().nonnegative().optional(),
  }),
  'workflow.pause': z.strictObject({
    name: Name,
    reason: z.string().max(1000).optional(),
    by: By.optional(),
  }),
  'workflow.resume': z.strictObject({ name: Name, by: By.optional() }),
  'workflow.trigger': z.strictObject({
    name: Name,
    date: IsoDateSchema.optional(),
    by: By.optional(),
  }),
  'workflow.backfill': z.strictObject({
    name: Name,
    from: IsoDateSchema,
    to: IsoDateSchema,
    dryRun: z.boolean().default(false),
    by: By.optional(),
  }),
  'runs.list': z.strictObject({
    name: Name,
    limit: z.number().int().min(1).max(10_000).default(20),
  }),
} as const;

/** The most runs one backfill creates. */
const MAX_BACKFILL = 1000;

async function loadWorkflow(ctx: ApiContext, name: string): Promise<WorkflowSnapshot> {
  const loaded = await ctx.runtime.load(workflowBehaviour, name);
  if (stateName(loaded.state) === 'none')
    throw new SchedulerError(ErrorCodes.NotFound, `no workflow ${name}`);
  return loaded.state;
}

/**
 * `drover.api.workflow.apply`: validate the workflow (every problem named by its path, BAD_INPUT;
 * a schedule's calendar must exist), then `ApplyWorkflow`: the next version when it differs from
 * the latest, nothing when identical. Answers once the read model holds it.
 */
export const workflowApply: Handler = async (ctx, req) => {
  const r = parseRequest(
    'workflow apply request',
    WorkflowRequestSchemas['workflow.apply'],
    req.body,
  );
  const parsed = parseWorkflow(r.workflow);
  if (!parsed.ok) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `invalid workflow: ${describeIssues(parsed.issues)}`,
      {
        details: { issues: parsed.issues },
      },
    );
  }
  const w = parsed.workflow;
  const cal = w.schedule?.calendar;
  if (cal !== undefined && !ctx.live.model.calendars.has(cal))
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `invalid workflow: schedule.calendar: no calendar ${cal} (drover calendar import)`,
    );
  const out = await ctx.runtime.execute(workflowBehaviour, w.name, {
    type: 'ApplyWorkflow',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'workflow-apply'),
    data: { workflow: w },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return {
    name: w.name,
    version: latestWorkflow(out.state).version,
    changed: out.events.length > 0,
  };
};

export const workflowList: Handler = async (ctx, req) => {
  parseRequest('workflow list request', WorkflowRequestSchemas['workflow.list'], req.body);
  return { workflows: workflowRows(ctx.live.model, ctx.clock()) };
};

export const workflowNext: Handler = async (ctx, req) => {
  const r = parseRequest(
    'workflow next request',
    WorkflowRequestSchemas['workflow.next'],
    req.body,
  );
  const wf = ctx.live.model.workflows.get(r.name);
  if (!wf) throw new SchedulerError(ErrorCodes.NotFound, `no workflow ${r.name}`);
  return { next: nextFireTimes(ctx.live.model, wf, r.from ?? ctx.clock(), r.count) };
};

const pauseOrResume =
  (type: 'PauseWorkflow' | 'ResumeWorkflow'): Handler =>
  async (ctx, req) => {
    const schema =
      WorkflowRequestSchemas[type === 'PauseWorkflow' ? 'workflow.pause' : 'workflow.resume'];
    const r = parseRequest('workflow request', schema, req.body) as {
      name: string;
      reason?: string;
      by?: string;
    };
    await loadWorkflow(ctx, r.name);
    const meta = metaOf(ctx, req, actorOf(req.caller, r.by), type);
    const out = await ctx.runtime.execute(
      workflowBehaviour,
      r.name,
      type === 'PauseWorkflow'
        ? { type, ...meta, data: { ...(r.reason !== undefined && { reason: r.reason }) } }
        : { type, ...meta },
    );
    if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
    await ctx.live.reach(out.lastSeq);
    return { name: r.name, paused: stateName(out.state) === 'paused' };
  };
export const workflowPause = pauseOrResume('PauseWorkflow');
export const workflowResume = pauseOrResume('ResumeWorkflow');

/** Create one run (manual or backfill) through its machine; REFUSED when it exists already. */
async function createRun(
  ctx: ApiContext,
  req: ApiRequest,
  by: string | undefined,
  wf: WorkflowSnapshot,
  date: string,
  trigger: 'manual' | 'backfill',
  fireAt: number,
): Promise<string> {
  const { version, workflow } = latestWorkflow(wf);
  const name = workflow!.name;
  const id = runId(name, date);
  const cal = calendarOf(ctx.live.model, wf);
  const out = await ctx.runtime.execute(runBehaviour, id, {
    type: 'ScheduleRun',
    ...metaOf(ctx, req, actorOf(req.caller, by), `run-${date}`),
    data: {
      workflow: name,
      date,
      workflowVersion: version,
      ...(cal && { calendarVersion: cal.version }),
      trigger,
      fireAt,
      jobId: runJobId(name, date),
    },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  if (out.events.length === 0)
    throw new SchedulerError(
      ErrorCodes.Refused,
      `run ${id} exists already (${stateName(out.state)}); drover rerun ${id}`,
    );
  return id;
}

/** `drover.api.workflow.trigger`: a manual run for `date` (default: today in the schedule's zone). */
export const workflowTrigger: Handler = async (ctx, req) => {
  const r = parseRequest(
    'workflow trigger request',
    WorkflowRequestSchemas['workflow.trigger'],
    req.body,
  );
  const wf = await loadWorkflow(ctx, r.name);
  const now = ctx.clock();
  const date =
    r.date ??
    localDate(now, scheduleZone(latestWorkflow(wf).workflow!, calendarOf(ctx.live.model, wf)));
  return { run: await createRun(ctx, req, r.by, wf, date, 'manual', now) };
};

/**
 * `drover.api.workflow.backfill`: a run for every logical date the schedule fires on from `from`
 * to `to` (both included) that has no run yet, in date order; `dryRun` lists them only.
 */
export const workflowBackfill: Handler = async (ctx, req) => {
  const r = parseRequest(
    'workflow backfill request',
    WorkflowRequestSchemas['workflow.backfill'],
    req.body,
  );
  if (r.from > r.to)
    throw new SchedulerError(ErrorCodes.BadInput, `to: ${r.to} is before from ${r.from}`);
  const wf = await loadWorkflow(ctx, r.name);
  const w = latestWorkflow(wf).workflow!;
  if (!w.schedule)
    throw new SchedulerError(ErrorCodes.BadInput, `workflow ${r.name} has no schedule to backfill`);
  const cal = calendarOf(ctx.live.model, wf);
  const zone = scheduleZone(w, cal);
  const intraday = firesIntraday(w);
  const start = Date.parse(`${r.from}T00:00:00Z`) - 2 * 86_400_000;
  const fires = nextFires(w.schedule, cal, start, 10_000)
    .map((f) => ({ at: f.at, date: logicalDate(f, intraday, zone) }))
    .filter((f) => f.date.slice(0, 10) >= r.from && f.date.slice(0, 10) <= r.to);
  const dates = [...new Set(fires.map((f) => f.date))]
    .filter((d) => !ctx.live.model.runs.has(runId(r.name, d)))
    .slice(0, MAX_BACKFILL);
  if (r.dryRun) return { runs: dates.map((d) => runId(r.name, d)), dryRun: true };
  const runs: string[] = [];
  for (const date of dates) {
    const fire = fires.find((f) => f.date === date)!;
    runs.push(await createRun(ctx, req, r.by, wf, date, 'backfill', fire.at));
  }
  return { runs, dryRun: false };
};

/** `drover.api.runs.list`: a workflow's runs, newest logical date first (CONTRACT `drover runs`). */
export const runsList: Handler = async (ctx, req) => {
  const r = parseRequest('runs request', WorkflowRequestSchemas['runs.list'], req.body);
  if (!ctx.live.model.workflows.has(r.name))
    throw new SchedulerError(ErrorCodes.NotFound, `no workflow ${r.name}`);
  return { runs: runViews(ctx.live.model, r.name, r.limit) };
};

/** Every workflow operation and its handler (spread into the service's table). */
export const WORKFLOW_HANDLERS = {
  'workflow.apply': workflowApply,
  'workflow.list': workflowList,
  'workflow.next': workflowNext,
  'workflow.pause': workflowPause,
  'workflow.resume': workflowResume,
  'workflow.trigger': workflowTrigger,
  'workflow.backfill': workflowBackfill,
  'runs.list': runsList,
  'run.rerun': runRerun,
} as const satisfies Record<(typeof WORKFLOW_OPS)[number], Handler>;
