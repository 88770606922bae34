import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  JSON_TYPE,
  MSGPACK,
  SchedulerError,
  decodeBody,
  encodeBody,
  hasCode,
  isErrorCode,
  type MemSizingRecord,
  type PinnedEnvironment,
  type SubmitBody,
} from '../events/index.js';
import type { Explanation } from './explain.js';
import type { CancelPlan, ClearPlan } from './plans.js';
import {
  apiSubject,
  type ApiErrorBody,
  type ApiOp,
  type JobsListRequest,
  type LogsRequest,
} from './protocol.js';
import { RequestMux, type RequestFailureKind } from './request-mux.js';
import type { AlertView } from './alert-views.js';
import type { RunbookRunView } from './runbook-views.js';
import type { CalendarRow, JobRow, JobView, NodeView, SessionView } from './views.js';

/**
 * A command sent again after an interruption: the same `requestId` makes the service apply it
 * once (a resumed runbook repeats its step's action with the id of the first try).
 */
export interface Retried {
  readonly requestId?: string;
}

export interface ApiClientOptions {
  /** Act on a user's own surface (`drover.api.as.<user>.*`): required where roles are enforced. */
  readonly as?: string;
  /** msgpack instead of JSON on the wire. */
  readonly msgpack?: boolean;
  /** Default timeout of a request (ms). */
  readonly timeoutMs?: number;
}

/** One log excerpt of a process (`drover.api.logs`). */
export interface LogEntry {
  chunk: number;
  attempt: number;
  worker: string;
  node: string;
  stream: 'stdout' | 'stderr';
  text: string;
  size: number;
  nextByte: number;
  unavailable?: string;
}

/** The typed client of the NATS API, used by the CLI and by any TypeScript service. */
export interface ApiClient {
  /** `startBy` (ISO or `+DURATION`): a start-by promise, admitted or refused (REFUSED). */
  submit(
    body: Omit<SubmitBody, 'memMb'> & { memMb?: number | 'auto'; startBy?: string },
    opts?: { msgId?: string },
  ): Promise<{
    jobId: string;
    duplicate?: boolean;
    promise?: { startBy: string; accepted: boolean };
    /** With `memMb: "auto"` (or a name's `auto` default): the figure and how it was decided. */
    memSizing?: MemSizingRecord;
  }>;
  /**
   * A copy of job `id`'s request under a new id; with `sameEnvironment` pinned to its latest
   * recorded environment (REFUSED when it has none).
   */
  resubmit(
    id: string,
    opts?: { sameEnvironment?: boolean; user?: string; msgId?: string },
  ): Promise<{ jobId: string; resubmitOf: string; pinnedEnvironment?: PinnedEnvironment }>;
  job(id: string, opts?: { chunks?: boolean }): Promise<JobView>;
  /** The job without its chunk list, with chunks settled / total (cheap for progress bars). */
  status(id: string): Promise<{ job: JobView; progress: { total: number; done: number } }>;
  /**
   * Every row the filter keeps (up to `limit` when given), fetched page by page so that no reply
   * is over the body limit however many jobs the farm holds.
   */
  jobs(filter?: Omit<JobsListRequest, 'after' | 'pageSize'>): Promise<JobRow[]>;
  /** One page of rows: `next` is the `after` of the following page, absent on the last. */
  jobsPage(req: JobsListRequest): Promise<{ jobs: JobRow[]; next?: string }>;
  explain(id: string): Promise<Explanation>;
  cancelPlan(id: string): Promise<CancelPlan>;
  cancel(
    id: string,
    opts?: { reason?: string; wait?: boolean; waitMs?: number; by?: string } & Retried,
  ): Promise<{ plan: CancelPlan; state: string }>;
  clearPlan(id: string): Promise<ClearPlan>;
  clear(id: string, opts?: { by?: string } & Retried): Promise<{ plan: ClearPlan }>;
  logs(req: LogsRequest): Promise<LogEntry[]>;
  nodes(): Promise<NodeView[]>;
  node(
    op: 'drain' | 'undrain' | 'cordon' | 'uncordon',
    node: string,
    opts?: { reason?: string; by?: string } & Retried,
  ): Promise<{ node: string; state: string }>;
  priority(
    id: string,
    priority: number,
    reason: string,
    opts?: { global?: boolean; by?: string },
  ): Promise<{ id: string; jobId: string; priority: number; delayed: string[] }>;
  /** Import a calendar (admins): its version after, and whether this import changed it. */
  calendarImport(
    calendar: unknown,
    opts?: { by?: string },
  ): Promise<{ name: string; version: number; changed: boolean }>;
  calendars(): Promise<CalendarRow[]>;
  /** Sessions of a calendar version (default: the latest), both dates included. */
  calendarSessions(
    name: string,
    from: string,
    to: string,
    opts?: { version?: number },
  ): Promise<{ name: string; version: number; sessions: SessionView[] }>;
  /** Alerts that fired: firing ones, or with `all` the resolved ones too. */
  alerts(opts?: { all?: boolean }): Promise<AlertView[]>;
  /** A person acknowledges an alert (audited; not needed for it to resolve). */
  alertAck(id: string, opts?: { note?: string; by?: string }): Promise<AlertView>;
  /** Start a run of a runbook (the definition as read from its file) with its arguments. */
  runbookStart(
    definition: unknown,
    args: Record<string, string>,
    opts?: { by?: string },
  ): Promise<RunbookRunView>;
  /** Record one step of a run (`StartStep`, `RecordAnswer`, ...) through its machine. */
  runbookRecord(
    id: string,
    command: string,
    data: Record<string, unknown>,
    opts?: { by?: string } & Retried,
  ): Promise<RunbookRunView>;
  runbookGet(id: string): Promise<RunbookRunView>;
  /** Runs in progress (with `all`, every run), newest first. */
  runbookRuns(opts?: { all?: boolean }): Promise<RunbookRunView[]>;
  /** A raw call: any operation, any body (the fuzz tests use it). */
  call<T = Record<string, unknown>>(op: ApiOp, body: unknown, timeoutMs?: number): Promise<T>;
}

/** A failed request (no reply) as the error the caller sees: by its code, never by its words. */
function rethrow(err: unknown, op: string): never {
  const message = (err as Error).message ?? String(err);
  if (hasCode(err, ErrorCodes.Timeout))
    throw new SchedulerError(ErrorCodes.Timeout, `${op}: no reply in time`, { cause: err });
  if (hasCode(err, ErrorCodes.Forbidden))
    throw new SchedulerError(ErrorCodes.Forbidden, `${op}: ${message}`, { cause: err });
  const kind = hasCode(err, ErrorCodes.Unavailable)
    ? (err.details as { kind?: RequestFailureKind } | undefined)?.kind
    : undefined;
  if (kind === 'no-responders') {
    throw new SchedulerError(
      ErrorCodes.Unavailable,
      `no Drover API service answers ${op}: is the farm up?`,
      { cause: err },
    );
  }
  throw new SchedulerError(ErrorCodes.Unavailable, `${op}: ${message}`, { cause: err });
}

/** A refusal on the wire (`{ok:false,error}`) as an error of the family; unknown codes are INTERNAL. */
function refusal(error: ApiErrorBody): SchedulerError {
  const code = isErrorCode(error.code) ? error.code : ErrorCodes.Internal;
  return new SchedulerError(code, error.message, {
    ...(error.details !== undefined && { details: error.details }),
  });
}

/** Rows asked per page: the protocol's most (the service also stops a page short of the body limit). */
const PAGE_ROWS = 10_000;

/** Page through `jobs.list` until the last page or `limit` rows, concatenated in list order. */
async function allJobs(
  page: (req: JobsListRequest) => Promise<{ jobs: JobRow[]; next?: string }>,
  { limit, ...filter }: Omit<JobsListRequest, 'after' | 'pageSize'>,
): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  let after: string | undefined;
  do {
    const pageSize = Math.min(PAGE_ROWS, (limit ?? Infinity) - rows.length);
    const r = await page({ ...filter, pageSize, ...(after !== undefined && { after }) });
    rows.push(...r.jobs);
    after = r.next;
  } while (after !== undefined && rows.length < (limit ?? Infinity));
  return rows;
}

/**
 * A client of the API on `nc`. Every call is one request; a refusal rejects with a
 * `SchedulerError` carrying the reply's code (CONTRACT.md; the CLI maps it to an exit code). Command calls carry a
 * `Drover-Request-Id`, so the service applies a retried one once.
 * @example const jobId = (await createApiClient(nc).submit({ name: 'x', user: 'me', command: ['true'] })).jobId;
 */
export function createApiClient(nc: NatsConnection, opts: ApiClientOptions = {}): ApiClient {
  const type = opts.msgpack ? MSGPACK : JSON_TYPE;
  const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
  const mux = new RequestMux(nc, inboxPrefix);
  const call = async <T>(
    op: ApiOp,
    body: unknown,
    timeoutMs = opts.timeoutMs ?? 10_000,
    extra: Record<string, string> = {},
  ): Promise<T> => {
    const h = natsHeaders();
    h.set('Content-Type', type);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    const data = body instanceof Uint8Array ? body : encodeBody(body, type);
    let reply;
    try {
      const msg = await mux.request(apiSubject(op, opts.as), data, h, timeoutMs);
      reply = decodeBody(msg.data, type) as { ok: true } | { ok: false; error: ApiErrorBody };
    } catch (err) {
      rethrow(err, op);
    }
    if (!reply.ok) throw refusal(reply.error);
    return reply as T;
  };
  const command = <T>(op: ApiOp, body: unknown, timeoutMs?: number) => {
    const { requestId, ...rest } = body as Retried & Record<string, unknown>;
    return call<T>(op, rest, timeoutMs, { 'Drover-Request-Id': requestId ?? randomUUID() });
  };
  const run = async (op: ApiOp, body: unknown) =>
    (await command<{ run: RunbookRunView }>(op, body)).run;
  return {
    submit: (body, o = {}) =>
      call('submit', body, undefined, { 'Nats-Msg-Id': o.msgId ?? `cli-${randomUUID()}` }),
    resubmit: (id, { msgId, ...o } = {}) =>
      call('resubmit', { id, ...o }, undefined, {
        'Nats-Msg-Id': msgId ?? `cli-${randomUUID()}`,
      }),
    job: async (id, o = {}) =>
      (
        await call<{ job: JobView }>('job.get', {
          id,
          ...(o.chunks === false && { chunks: false }),
        })
      ).job,
    status: (id) => call('job.get', { id, chunks: false }),
    jobs: (filter = {}) => allJobs((req) => call('jobs.list', req), filter),
    jobsPage: async (req) => {
      const r = await call<{ jobs: JobRow[]; next?: string }>('jobs.list', req);
      return { jobs: r.jobs, ...(r.next !== undefined && { next: r.next }) };
    },
    explain: async (id) => (await call<{ explain: Explanation }>('explain', { id })).explain,
    cancelPlan: async (id) => (await call<{ plan: CancelPlan }>('cancel.plan', { id })).plan,
    cancel: (id, o = {}) =>
      command('cancel', { id, ...o }, o.wait ? (o.waitMs ?? 60_000) + 5_000 : undefined),
    clearPlan: async (id) => (await call<{ plan: ClearPlan }>('clear.plan', { id })).plan,
    clear: (id, o = {}) => command('clear', { id, ...o }, 30_000),
    logs: async (req) => (await call<{ entries: LogEntry[] }>('logs', req, 30_000)).entries,
    nodes: async () => (await call<{ nodes: NodeView[] }>('nodes.list', {})).nodes,
    node: (o, node, x = {}) => command(`node.${o}`, { node, ...x }),
    priority: (id, priority, reason, x = {}) => command('priority', { id, priority, reason, ...x }),
    calendarImport: async (calendar, x = {}) => {
      const r = await command<{ name: string; version: number; changed: boolean }>(
        'calendar.import',
        { calendar, ...x },
      );
      return { name: r.name, version: r.version, changed: r.changed };
    },
    calendars: async () =>
      (await call<{ calendars: CalendarRow[] }>('calendar.list', {})).calendars,
    calendarSessions: async (name, from, to, x = {}) => {
      const r = await call<{ name: string; version: number; sessions: SessionView[] }>(
        'calendar.sessions',
        { name, from, to, ...x },
        30_000,
      );
      return { name: r.name, version: r.version, sessions: r.sessions };
    },
    alerts: async (x = {}) => (await call<{ alerts: AlertView[] }>('alerts.list', x)).alerts,
    alertAck: async (id, x = {}) =>
      (await command<{ alert: AlertView }>('alerts.ack', { id, ...x })).alert,
    runbookStart: (definition, args, x = {}) => run('runbook.start', { definition, args, ...x }),
    runbookRecord: (id, c, data, x = {}) => run('runbook.record', { id, command: c, data, ...x }),
    runbookGet: async (id) => (await call<{ run: RunbookRunView }>('runbook.get', { id })).run,
    runbookRuns: async (x = {}) => (await call<{ runs: RunbookRunView[] }>('runbook.runs', x)).runs,
    call: (o, body, timeoutMs) => call(o, body, timeoutMs),
  };
}
