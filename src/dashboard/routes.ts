import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  JOB_STATES,
  readJobHistory,
  reservationRows,
  type ApiClient,
  type JobHistory,
  type JobState,
} from '../api/index.js';
import {
  EntityIdSchema,
  ErrorCodes,
  SchedulerError,
  type ErrorCode,
  type EventLog,
  type RecordedEvent,
} from '../events/index.js';
import { auditEntries, auditPlan, type EventFetcher } from '../projections/index.js';
import type { Feed } from './feed.jetstream.js';
import { shellQuote } from './shell-quote.js';
import { nodeMemoryRows, promisesPanel } from './ops-views.js';
import { fairshareView, jobTree, jobsPage, overview } from './views.js';
import { workflowRoute } from './workflow-routes.js';

/** What the JSON routes need: the feed to read, the API client to act and explain. */
export interface RouteContext {
  readonly feed: Feed;
  readonly client: ApiClient;
  readonly fetcher: EventFetcher;
  /** Where a job the feed let go of is read back from (the archive included). */
  readonly history: EventLog;
  readonly clock: () => number;
  /** Who the dashboard acts as on the API's trusted surface (`by`); absent on a user surface. */
  readonly by?: string;
}

/** Audit entries on one page of a job's audit trail (a big job's trail is paged, not 10,000 px). */
export const AUDIT_PAGE = 50;
const NODE_OPS = new Set(['drain', 'undrain', 'cordon', 'uncordon']);
/** The HTTP status of a failure's code (500 for the rest). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_INPUT: 400,
  NOT_FOUND: 404,
  REFUSED: 409,
  FORBIDDEN: 403,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/** Write a JSON reply. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

/** The error reply of a failed route: its code kept (CONTRACT), the status from the code. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof SchedulerError) {
    const { code, message, details } = err;
    return sendJson(res, STATUS[code] ?? 500, {
      error: { code, message, ...(details !== undefined && { details }) },
    });
  }
  sendJson(res, 500, { error: { code: 'INTERNAL', message: (err as Error).message } });
}

function jobsQuery(params: URLSearchParams) {
  const state = params.get('state') || undefined;
  if (state !== undefined && !JOB_STATES.includes(state as JobState)) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `state ${state}: expected one of ${JOB_STATES.join(', ')}`,
    );
  }
  const int = (k: string) => {
    const v = params.get(k);
    return v === null || v === '' ? undefined : Math.trunc(Number(v)) || 0;
  };
  const offset = int('offset');
  const limit = int('limit');
  return {
    ...(params.get('user') && { user: params.get('user') as string }),
    ...(state && { state: state as JobState }),
    ...(params.get('name') && { name: params.get('name') as string }),
    ...(offset !== undefined && { offset }),
    ...(limit !== undefined && { limit }),
  };
}

/** The first entry of the page at `offset` of a trail of `total` entries. */
function pageStart(total: number, offset: number): number {
  // An offset past the end shows the last page (the trail only grows).
  const lastPage = Math.max(0, Math.ceil(total / AUDIT_PAGE) - 1) * AUDIT_PAGE;
  return Math.min(Math.max(0, offset), lastPage);
}

/** One page of the audit trail of job `id`'s tree, in log order, from entry `offset`. */
async function auditPage(ctx: RouteContext, id: string, offset: number) {
  const { seqs } = auditPlan(ctx.feed.audit, id);
  const from = pageStart(seqs.length, offset);
  const fetched = await ctx.fetcher.fetch(seqs.slice(from, from + AUDIT_PAGE));
  return { audit: auditEntries(fetched.events), auditTotal: seqs.length, auditOffset: from };
}

/** The same page of a job read back from the log (its trail is the events read). */
function historyAuditPage(events: readonly RecordedEvent[], offset: number) {
  const from = pageStart(events.length, offset);
  const audit = auditEntries(events.slice(from, from + AUDIT_PAGE));
  return { audit, auditTotal: events.length, auditOffset: from };
}

/** Job `id` read back from the log when the feed let go of it (or never folded it); 404 if none. */
async function letGoOf(ctx: RouteContext, id: string): Promise<JobHistory> {
  // Only a job id can name a job (a wildcard must never reach a subject filter).
  const valid = EntityIdSchema.safeParse(id).success;
  const history = valid ? await readJobHistory(ctx.history, id) : undefined;
  if (!history) throw new SchedulerError(ErrorCodes.NotFound, `no job ${id}`);
  return history;
}

async function jobPage(ctx: RouteContext, id: string, auditOffset: number) {
  const held = ctx.feed.model.jobs.has(id);
  const history = held ? undefined : await letGoOf(ctx, id);
  const tree = jobTree(history?.model ?? ctx.feed.model, id);
  if (!tree) throw new SchedulerError(ErrorCodes.NotFound, `no job ${id}`);
  const explain = await ctx.client.explain(id).catch((err: unknown) => ({
    error: {
      code: err instanceof SchedulerError ? err.code : ErrorCodes.Internal,
      message: (err as Error).message,
    },
  }));
  const commandLine = shellQuote(tree.jobs[0]?.command ?? []);
  const audit = history
    ? historyAuditPage(history.events, auditOffset)
    : await auditPage(ctx, id, auditOffset);
  return { ...tree, commandLine, explain, ...audit };
}

/** The audit subroute: from the feed's index, or from the log for a job it let go of. */
async function jobAudit(ctx: RouteContext, id: string, offset: number) {
  if (ctx.feed.model.jobs.has(id)) return auditPage(ctx, id, offset);
  return historyAuditPage((await letGoOf(ctx, id)).events, offset);
}

/** A non-negative integer query parameter (0 when absent); anything else is refused, named. */
function offsetParam(params: URLSearchParams, name: string): number {
  const v = params.get(name);
  if (v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new SchedulerError(ErrorCodes.BadInput, `${name} ${v}: expected an integer >= 0`);
  return n;
}

/**
 * Answer one JSON route (`/api/...`); false when the path is not one. Reads come from the
 * feed; explanations, cancel plans and every action go through the API client, so the API's
 * permissions apply (a dashboard on a user's surface cannot drain nodes).
 */
export async function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'api') return false;
  const [, what, id, sub, extra] = parts;
  const get = req.method === 'GET';
  const post = req.method === 'POST';
  const by = ctx.by === undefined ? {} : { by: ctx.by };
  const wf = await workflowRoute(ctx, req.method, url, parts);
  if (wf) {
    sendJson(res, 200, wf.body);
    return true;
  }
  if (get && what === 'overview' && !id) {
    sendJson(res, 200, overview(ctx.feed, ctx.clock()));
  } else if (get && what === 'jobs' && !id) {
    sendJson(res, 200, jobsPage(ctx.feed.model, jobsQuery(url.searchParams)));
  } else if (get && what === 'jobs' && id && !sub) {
    sendJson(res, 200, await jobPage(ctx, id, offsetParam(url.searchParams, 'auditOffset')));
  } else if (get && what === 'jobs' && id && sub === 'audit') {
    sendJson(res, 200, await jobAudit(ctx, id, offsetParam(url.searchParams, 'offset')));
  } else if (get && what === 'jobs' && id && sub === 'cancel-plan') {
    sendJson(res, 200, await ctx.client.cancelPlan(id));
  } else if (post && what === 'jobs' && id && sub === 'cancel') {
    const r = await ctx.client.cancel(id, { reason: 'cancelled from the dashboard', ...by });
    sendJson(res, 200, r);
  } else if (post && what === 'nodes' && id && sub && NODE_OPS.has(sub) && !extra) {
    const op = sub as 'drain' | 'undrain' | 'cordon' | 'uncordon';
    sendJson(res, 200, await ctx.client.node(op, id, { reason: 'from the dashboard', ...by }));
  } else if (get && what === 'reservations' && !id) {
    const now = ctx.clock();
    sendJson(res, 200, {
      now,
      seq: ctx.feed.model.seq,
      rows: reservationRows(ctx.feed.model, now),
    });
  } else if (get && what === 'memory' && !id) {
    const rows = nodeMemoryRows(ctx.feed.model, ctx.feed.readings);
    sendJson(res, 200, { seq: ctx.feed.model.seq, now: ctx.clock(), rows });
  } else if (get && what === 'promises' && !id) {
    sendJson(res, 200, { seq: ctx.feed.model.seq, rows: promisesPanel(ctx.feed.model) });
  } else if (get && what === 'fairshare' && !id) {
    sendJson(res, 200, fairshareView(ctx.feed, ctx.clock()));
  } else {
    throw new SchedulerError(ErrorCodes.NotFound, `no route ${req.method} ${url.pathname}`);
  }
  return true;
}
