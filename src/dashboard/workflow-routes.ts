import type { RunView, WorkflowRow } from '../api/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import type { RouteContext } from './routes.js';
import {
  runGantt,
  runGrid,
  taskSeries,
  triggerDate,
  workflowCatchup,
  workflowZone,
  type JobTimes,
} from './workflow-views.js';

/** Next fires shown per workflow on the list, and on a workflow's page. */
const NEXT_LISTED = 3;
const NEXT_SHOWN = 5;
/** Runs shown on a workflow's page by default, and at most. */
const RUNS_DEFAULT = 25;
const RUNS_MAX = 500;

async function workflowList(ctx: RouteContext) {
  const { workflows } = await ctx.client.call<{ workflows: WorkflowRow[] }>('workflow.list', {});
  const now = ctx.clock();
  return {
    workflows: await Promise.all(
      workflows.map(async (w) => {
        const zone = workflowZone(ctx.feed.model, w.name);
        const next = await nextOf(ctx, w.name, NEXT_LISTED);
        const catchup = workflowCatchup(ctx.feed.model, w.name);
        return { ...w, zone, catchup, next, triggerDate: triggerDate(zone, now) };
      }),
    ),
  };
}

async function nextOf(ctx: RouteContext, name: string, count: number): Promise<string[]> {
  const { next } = await ctx.client.call<{ next: string[] }>('workflow.next', { name, count });
  return next;
}

/** Job times from the feed's read model (the grid's job ids come from `runs.list`). */
function timesOf(ctx: RouteContext): (jobId: string) => JobTimes | undefined {
  return (jobId) => {
    const c = ctx.feed.model.jobs.get(jobId)?.context;
    if (!c) return undefined;
    return {
      ...(c.startedAt !== undefined && { startedAt: c.startedAt }),
      ...(c.endedAt !== undefined && { endedAt: c.endedAt }),
    };
  };
}

async function workflowPage(ctx: RouteContext, name: string, params: URLSearchParams) {
  const asked = Math.trunc(Number(params.get('limit') ?? RUNS_DEFAULT)) || RUNS_DEFAULT;
  const limit = Math.min(RUNS_MAX, Math.max(1, asked));
  const { workflows } = await ctx.client.call<{ workflows: WorkflowRow[] }>('workflow.list', {});
  const row = workflows.find((w) => w.name === name);
  if (!row) throw new SchedulerError(ErrorCodes.NotFound, `no workflow ${name}`);
  const { runs } = await ctx.client.call<{ runs: RunView[] }>('runs.list', { name, limit });
  const zone = workflowZone(ctx.feed.model, name);
  const times = timesOf(ctx);
  return {
    ...row,
    zone,
    catchup: workflowCatchup(ctx.feed.model, name),
    now: ctx.clock(),
    triggerDate: triggerDate(zone, ctx.clock()),
    next: await nextOf(ctx, name, NEXT_SHOWN),
    grid: runGrid(runs),
    gantts: Object.fromEntries(runs.map((r) => [r.run, runGantt(r, times)])),
    series: taskSeries(runs, times, zone),
  };
}

async function workflowAction(
  ctx: RouteContext,
  name: string,
  op: string,
  params: URLSearchParams,
) {
  const by = ctx.by === undefined ? {} : { by: ctx.by };
  if (op === 'pause')
    return ctx.client.call('workflow.pause', { name, reason: 'paused from the dashboard', ...by });
  if (op === 'resume') return ctx.client.call('workflow.resume', { name, ...by });
  const date = params.get('date') || undefined;
  return ctx.client.call('workflow.trigger', { name, ...(date && { date }), ...by });
}

/**
 * The workflows page's JSON routes: `GET /api/workflows`, `GET /api/workflows/NAME?limit=N`,
 * `POST /api/workflows/NAME/{pause,resume,trigger[?date=D]}`. Reads and actions go through the
 * API client (its permissions apply); job times come from the feed's read model. Resolves to
 * the reply's body, or undefined when the path is not one of them.
 */
export async function workflowRoute(
  ctx: RouteContext,
  method: string | undefined,
  url: URL,
  parts: readonly string[],
): Promise<{ body: unknown } | undefined> {
  const [, what, name, sub, extra] = parts;
  if (what !== 'workflows' || extra !== undefined) return undefined;
  if (method === 'GET' && !name) return { body: await workflowList(ctx) };
  if (method === 'GET' && name && !sub)
    return { body: await workflowPage(ctx, name, url.searchParams) };
  if (method === 'POST' && name && sub && ['pause', 'resume', 'trigger'].includes(sub))
    return { body: await workflowAction(ctx, name, sub, url.searchParams) };
  return undefined;
}
