import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createEntityRuntime, jobBehaviour, stateName } from '../actors/index.js';
import {
  ErrorCodes,
  SchedulerError,
  createJetStreamEventLog,
  decodeBody,
  encodeBody,
  ensureRejectedStream,
  fromNatsError,
  MAX_BODY_BYTES,
  oversizeReply,
  type ErrorCode,
  type EventLog,
} from '../events/index.js';
import * as alerts from './api-alerts.service.js';
import * as calendars from './api-calendars.service.js';
import * as commands from './api-commands.service.js';
import * as policy from './api-policy.service.js';
import * as memDefaults from './api-mem-defaults.service.js';
import { noApiMetrics, type ApiMetrics } from './api-metrics.js';
import type { ApiContext, Handler } from './api-context.js';
import * as queries from './api-queries.service.js';
import * as reservations from './api-reservations.service.js';
import * as runbooks from './api-runbooks.service.js';
import { sessionAlloc } from './api-alloc.service.js';
import * as sessions from './api-sessions.service.js';
import { WORKFLOW_HANDLERS } from './api-workflows.service.js';
import { promisesList } from './api-promises.service.js';
import { createIntakePublisher } from './intake-publisher.jetstream.js';
import { resubmit } from './api-resubmit.service.js';
import { readJobModel, readSubmittedSeq } from './job-history.jetstream.js';
import { startLiveModel, type LiveModel } from './live-model.jetstream.js';
import {
  API_QUEUE,
  API_WILDCARD,
  parseApiSubject,
  type ApiErrorBody,
  type ApiOp,
} from './protocol.js';

/** Every operation of the API and its handler (exhaustive by `ApiOp`). */
const HANDLERS: Readonly<Record<ApiOp, Handler>> = {
  submit: commands.submit,
  resubmit,
  cancel: commands.cancel,
  'cancel.plan': commands.cancelPlanOf,
  clear: commands.clear,
  'clear.plan': commands.clearPlanOf,
  priority: commands.priority,
  'node.drain': commands.nodeOp('node.drain'),
  'node.undrain': commands.nodeOp('node.undrain'),
  'node.cordon': commands.nodeOp('node.cordon'),
  'node.uncordon': commands.nodeOp('node.uncordon'),
  'job.get': queries.jobGet,
  'jobs.list': queries.jobsList,
  'nodes.list': queries.nodesList,
  explain: queries.explain,
  logs: queries.logs,
  'calendar.import': calendars.calendarImport,
  'calendar.list': calendars.calendarList,
  'calendar.sessions': calendars.calendarSessions,
  'reservation.create': reservations.reservationCreate,
  'reservation.list': reservations.reservationList,
  'reservation.delete': reservations.reservationDelete,
  'alerts.list': alerts.alertsList,
  'alerts.ack': alerts.alertsAck,
  'runbook.start': runbooks.runbookStart,
  'runbook.record': runbooks.runbookRecord,
  'runbook.get': runbooks.runbookGet,
  'runbook.runs': runbooks.runbookRuns,
  'session.open': sessions.sessionOpen,
  'session.alloc': sessionAlloc,
  'session.resize': sessions.sessionResize,
  'session.stop': sessions.sessionStop,
  'session.get': sessions.sessionGet,
  'sessions.list': sessions.sessionsList,
  'fairshare.weight': policy.fairshareWeight,
  'fairshare.config': policy.fairshareConfig,
  'quota.set': policy.quotaSet,
  'quota.clear': policy.quotaClear,
  'quota.list': policy.quotaList,
  'exclusions.add': policy.exclusionOp('add'),
  'exclusions.remove': policy.exclusionOp('remove'),
  'exclusions.list': policy.exclusionsList,
  'memdefault.set': memDefaults.memDefaultSet,
  'memdefault.clear': memDefaults.memDefaultClear,
  'memdefault.list': memDefaults.memDefaultList,
  ...WORKFLOW_HANDLERS,
  promises: promisesList,
};

export interface ApiServiceOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  /** The event log (default: the JetStream one on `nc`). */
  readonly eventLog?: EventLog;
  readonly clock?: () => number;
  readonly newId?: () => string;
  /** Where requests are counted and timed (`createApiMetrics`); default nowhere. */
  readonly metrics?: ApiMetrics;
  /**
   * How long a finished job stays in the read model after it ended (default: every job stays;
   * `drover api`/`drover up` pass `DROVER_READ_RETENTION`, default `DEFAULT_READ_RETENTION_MS`).
   */
  readonly readRetentionMs?: number;
}

/** A running API service. */
export interface ApiService {
  /** The read model it answers from (tests and the dashboard may read it). */
  readonly live: LiveModel;
  stop(): Promise<void>;
}

/** The codes a reply carries; the log's own codes (DECODE, CONCURRENCY, ...) go out as INTERNAL. */
const REPLY_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.BadInput,
  ErrorCodes.NotFound,
  ErrorCodes.Refused,
  ErrorCodes.Forbidden,
  ErrorCodes.Unavailable,
  ErrorCodes.Timeout,
]);

/** A failure as the reply's `error`: by its code (nats.js failures mapped by class), never by its words. */
function errorBody(err: unknown): ApiErrorBody {
  const known = fromNatsError(err);
  if (known && REPLY_CODES.has(known.code)) {
    return {
      code: known.code,
      message: known.message,
      ...(known.details !== undefined && { details: known.details }),
    };
  }
  return { code: ErrorCodes.Internal, message: (err as Error).message ?? String(err) };
}

async function handle(ctx: ApiContext, msg: Msg, metrics: ApiMetrics): Promise<void> {
  const started = performance.now();
  const type = msg.headers?.get('Content-Type') || undefined;
  let reply: unknown;
  let op = 'unknown';
  let outcome = 'ok';
  try {
    const caller = parseApiSubject(msg.subject);
    if (caller && Object.hasOwn(HANDLERS, caller.op)) op = caller.op;
    const handler = caller && (HANDLERS as Record<string, Handler | undefined>)[caller.op];
    if (!caller || !handler)
      throw new SchedulerError(ErrorCodes.NotFound, `no API operation ${msg.subject}`);
    const body = decodeBody(msg.data, type);
    const headers = msg.headers;
    reply = { ok: true, ...(await handler(ctx, { caller, body, ...(headers && { headers }) })) };
  } catch (err) {
    const error = errorBody(err);
    if (error.code === 'INTERNAL')
      ctx.logger.error({ err, subject: msg.subject }, 'request failed');
    else ctx.logger.debug({ code: error.code, subject: msg.subject }, 'request refused');
    reply = { ok: false, error };
    outcome = error.code;
  }
  let data = encodeBody(reply, type);
  if (data.length > MAX_BODY_BYTES) {
    const error = errorBody(oversizeReply(msg.subject, data.length));
    ctx.logger.warn({ subject: msg.subject, bytes: data.length }, 'reply over the body limit');
    reply = { ok: false, error };
    outcome = error.code;
    data = encodeBody(reply, type);
  }
  if (msg.reply) msg.respond(data);
  metrics.request(op, outcome, (performance.now() - started) / 1000);
}

/**
 * The API service (CONTRACT "NATS API"): request/reply on `drover.api.>` in queue group
 * `drover-api`, so several instances share the load. Reads answer from a live read model (the
 * log folded through the entities' machines); commands go through the entity runtime, so nothing
 * is appended that a machine refuses; submissions go to the durable intake. Also makes sure
 * `DROVER_REJECTED` captures the intake's rejections. Invariant: a request always gets one
 * reply, `{ok:true,...}` or `{ok:false,error:{code,message,details}}`; a bad request never
 * stops the service.
 */
export async function startApiService(opts: ApiServiceOptions): Promise<ApiService> {
  const { nc } = opts;
  const logger = opts.logger.child({ component: 'api' });
  await ensureRejectedStream(await jetstreamManager(nc));
  const owned = opts.eventLog ? undefined : await createJetStreamEventLog(nc);
  const eventLog = opts.eventLog ?? (owned as EventLog);
  const live = await startLiveModel(nc, eventLog, logger, {
    ...(opts.readRetentionMs !== undefined && { retainMs: opts.readRetentionMs }),
    ...(opts.clock && { clock: opts.clock }),
  });
  opts.metrics?.watch?.(live);
  // Jobs the read model let go of are read back from the log, the archive included.
  const history = await createJetStreamEventLog(nc, { readArchive: true });
  const historyLog = opts.eventLog ?? history;
  // Reads only: archived history is closed (see `ApiContext.archivedJob`).
  const archiveReader = createEntityRuntime({ eventLog: historyLog });
  const ctx: ApiContext = {
    nc,
    intake: createIntakePublisher(nc),
    runtime: createEntityRuntime({ eventLog }),
    live,
    jobModel: async (id) => (live.model.jobs.has(id) ? live.model : readJobModel(historyLog, id)),
    submittedSeq: async (id) => live.model.jobSeqs.get(id) ?? readSubmittedSeq(historyLog, id),
    archivedJob: async (id) => {
      if ((await eventLog.lastSeqOf('job', id)) > 0) return undefined;
      const loaded = await archiveReader.load(jobBehaviour, id);
      return stateName(loaded.state) === 'none' ? undefined : loaded;
    },
    logger,
    clock: opts.clock ?? Date.now,
    newId: opts.newId ?? randomUUID,
  };
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let again: NodeJS.Timeout | undefined;
  /**
   * Subscribe, and again a second after the server ends the subscription (nats.js closes a
   * subscription it hands an error, e.g. a permission refused while a server reloads): a
   * service that only logged it stayed up and never answered again.
   */
  const serve = (): Subscription =>
    nc.subscribe(API_WILDCARD, {
      queue: API_QUEUE,
      callback: (err, msg) => {
        if (err) {
          logger.warn({ err }, 'api subscription ended; subscribing again');
          if (!stopping && !nc.isClosed()) again = setTimeout(() => (sub = serve()), 1_000);
          return;
        }
        const p = handle(ctx, msg, opts.metrics ?? noApiMetrics).catch((e: unknown) =>
          logger.error({ err: e }, 'reply failed'),
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      },
    });
  let sub = serve();
  logger.info({ seq: live.model.seq }, 'api service ready');
  return {
    live,
    async stop() {
      stopping = true;
      clearTimeout(again);
      await sub.drain().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      ctx.intake.close();
      await live.stop();
      await history.close();
      await owned?.close();
    },
  };
}
