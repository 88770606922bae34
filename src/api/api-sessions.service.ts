import { z } from 'zod';
import { sessionBehaviour, type SessionSnapshot } from '../actors/index.js';
import {
  EntityIdSchema,
  ErrorCodes,
  FrameKinds,
  SchedulerError,
  controlFrame,
  sessionInSubject,
} from '../events/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest, type Handler } from './api-context.js';
import { openInAlloc } from './api-alloc.service.js';
import { cancel, submit } from './api-commands.service.js';
import type { Caller } from './protocol.js';
import { parseRequest } from './protocol.js';
import { notFound, openSession, refuseTakenId } from './session-open.js';
import { sessionRow, sessionRows } from './session-views.js';

const Cells = z.number().int().min(1).max(10_000);

/** Request bodies of the session operations (strict: an unknown field is named). */
export const SessionRequestSchemas = {
  'session.open': z.strictObject({
    /** Chosen by the client, which listens on the session's subjects before it is opened. */
    id: EntityIdSchema,
    user: z.string().min(1).max(64),
    command: z.array(z.string().max(16_384)).min(1).max(4096),
    tty: z.boolean().default(false),
    cols: Cells.optional(),
    rows: Cells.optional(),
    cpus: z.number().positive().max(4096).optional(),
    memMb: z
      .number()
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .optional(),
    node: EntityIdSchema.optional(),
    /** Run inside this allocation (`drover run --alloc`): on its node, without queueing again. */
    alloc: EntityIdSchema.optional(),
    cwd: z.string().min(1).max(4096).optional(),
    env: z.record(z.string().min(1).max(256), z.string().max(65_536)).optional(),
    timeoutS: z
      .number()
      .int()
      .positive()
      .max(365 * 24 * 3600)
      .optional(),
  }),
  'session.resize': z.strictObject({ id: EntityIdSchema, cols: Cells, rows: Cells }),
  'session.stop': z.strictObject({ id: EntityIdSchema, reason: z.string().max(1000).optional() }),
  'session.get': z.strictObject({ id: EntityIdSchema }),
  'sessions.list': z.strictObject({ all: z.boolean().optional() }),
} as const;

async function loadOwnSession(
  ctx: ApiContext,
  caller: Caller,
  id: string,
): Promise<{ state: SessionSnapshot; lastSeq: number }> {
  const loaded = await ctx.runtime.load(sessionBehaviour, id);
  const opened = loaded.state.context.opened;
  if (!opened) throw new SchedulerError(ErrorCodes.NotFound, `no session ${id}`);
  if (caller.user !== undefined && opened.user !== caller.user) {
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `session ${id} belongs to ${opened.user}, not ${caller.user}`,
    );
  }
  return loaded;
}

/** The nodes other than `node` (a run pinned with `--node` excludes every other one). */
function otherNodes(ctx: ApiContext, node: string): string[] {
  if (!ctx.live.model.nodes.has(node)) throw notFound('node', `no node ${node}`);
  return [...ctx.live.model.nodes.keys()].filter((n) => n !== node);
}

/**
 * `drover.api.session.open`: a session is a job like any other on its way to a node (same
 * intake, queue, fair share and placement: `submit` itself), carrying `DROVER_SESSION` so the
 * agent that launches it attaches its stdio to the session's subjects; then `session.opened`
 * names that job, which is what the agent checks before it attaches anything.
 */
export const sessionOpen: Handler = async (ctx, req) => {
  const r = parseRequest('session open request', SessionRequestSchemas['session.open'], req.body);
  await refuseTakenId(ctx, r.id);
  if (r.alloc !== undefined) return openInAlloc(ctx, req, { ...r, alloc: r.alloc });
  const body = {
    name: `run ${r.command.join(' ')}`.slice(0, 200),
    user: r.user,
    command: r.command,
    retries: 0,
    env: { ...r.env, DROVER_SESSION: r.id },
    ...(r.cpus !== undefined && { cpus: r.cpus }),
    ...(r.memMb !== undefined && { memMb: r.memMb }),
    ...(r.cwd !== undefined && { cwd: r.cwd }),
    ...(r.timeoutS !== undefined && { timeoutS: r.timeoutS }),
    ...(r.node !== undefined && { excludeNodes: otherNodes(ctx, r.node) }),
  };
  const { jobId } = (await submit(ctx, { ...req, body })) as { jobId: string };
  await openSession(ctx, req, r.id, 'session-open', {
    kind: 'run',
    user: r.user,
    command: r.command,
    tty: r.tty,
    cpus: r.cpus ?? 1,
    memMb: r.memMb ?? 512,
    nodes: 1,
    jobId,
    ...(r.cols !== undefined && { cols: r.cols }),
    ...(r.rows !== undefined && { rows: r.rows }),
    ...(r.node !== undefined && { node: r.node }),
  });
  return { sessionId: r.id, jobId };
};

/**
 * `drover.api.session.resize`: `session.resized` in the log, then the pty follows. The frame goes
 * out before the answer, on the connection that answers: the client holds keystrokes until the
 * answer (`SessionClient.holdInputWhile`), so they reach the pty after its resize.
 */
export const sessionResize: Handler = async (ctx, req) => {
  const r = parseRequest('session resize', SessionRequestSchemas['session.resize'], req.body);
  const { state } = await loadOwnSession(ctx, req.caller, r.id);
  const out = await ctx.runtime.execute(sessionBehaviour, r.id, {
    type: 'ResizeSession',
    ...metaOf(ctx, req, actorOf(req.caller), 'session-resize'),
    data: { cols: r.cols, rows: r.rows },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  // Nowhere yet (queued, no `--node`): no pty to tell; the agent sizes it from the log.
  const node = state.context.placements[0]?.node ?? state.context.opened?.node;
  const user = state.context.opened?.user;
  if (node !== undefined && user !== undefined)
    ctx.nc.publish(
      sessionInSubject(user, node, r.id),
      controlFrame(FrameKinds.Resize, { cols: r.cols, rows: r.rows }),
    );
  return { sessionId: r.id, cols: r.cols, rows: r.rows };
};

/**
 * `drover.api.session.stop`: `session.stop_requested` with who and why, and the cancel of its
 * job (the scheduler stops its process, if it has one, like any cancel). A session whose process
 * never started ends here, as `session.exited` without an exit code.
 */
export const sessionStop: Handler = async (ctx, req) => {
  const r = parseRequest('session stop', SessionRequestSchemas['session.stop'], req.body);
  const { state } = await loadOwnSession(ctx, req.caller, r.id);
  const by = actorOf(req.caller);
  const reason = r.reason ?? `stopped by ${by.kind} ${by.id}`;
  const stop = await ctx.runtime.execute(sessionBehaviour, r.id, {
    type: 'StopSession',
    ...metaOf(ctx, req, by, 'session-stop'),
    data: { reason },
  });
  if (!stop.ok) throw new SchedulerError(ErrorCodes.Refused, stop.rejection.message);
  const jobId = state.context.opened?.jobId;
  if (jobId !== undefined) await cancelQuietly(ctx, req, jobId, reason);
  if (stop.state.context.placements.length === 0) {
    await ctx.runtime.execute(sessionBehaviour, r.id, {
      type: 'EndSession',
      ...metaOf(ctx, req, by, 'session-unstarted'),
      data: { exitCode: null, signal: null, message: `stopped before it started: ${reason}` },
    });
  }
  return { sessionId: r.id, state: 'stopping' };
};

/** Cancel the session's job; one that has ended already has nothing left to cancel. */
async function cancelQuietly(ctx: ApiContext, req: ApiRequest, jobId: string, reason: string) {
  try {
    await cancel(ctx, { ...req, body: { id: jobId, reason } });
  } catch (err) {
    if (!(err instanceof SchedulerError) || err.code !== ErrorCodes.Refused) throw err;
  }
}

/** `drover.api.session.get`: one session's row, read fresh from the log. */
export const sessionGet: Handler = async (ctx, req) => {
  const r = parseRequest('session get', SessionRequestSchemas['session.get'], req.body);
  const { state } = await loadOwnSession(ctx, req.caller, r.id);
  return { session: sessionRow(r.id, state) };
};

/** `drover.api.sessions.list`: sessions still open or running (all with `all`), newest first. */
export const sessionsList: Handler = async (ctx, req) => {
  const r = parseRequest('sessions list', SessionRequestSchemas['sessions.list'], req.body);
  return { sessions: sessionRows(ctx.live.model.sessions, r.all === true) };
};
