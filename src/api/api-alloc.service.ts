import { z } from 'zod';
import { sessionBehaviour, stateName } from '../actors/index.js';
import {
  EntityIdSchema,
  ErrorCodes,
  SchedulerError,
  agentSessionSubject,
} from '../events/index.js';
import { actorOf, metaOf, type ApiContext, type ApiRequest, type Handler } from './api-context.js';
import { submit } from './api-commands.service.js';
import { parseRequest } from './protocol.js';
import { notFound, openSession, refuseTakenId } from './session-open.js';

/** The longest allocation (like a job's time limit). */
const MAX_TIME_S = 365 * 24 * 3600;
/** How long the hold's job may outlive the allocation's time before the agent kills it. */
const HOLD_SLACK_S = 60;

/** The body of `drover.api.session.alloc` (strict: an unknown field is named). */
export const AllocRequestSchema = z.strictObject({
  /** Chosen by the client, like a run's session id. */
  id: EntityIdSchema,
  user: z.string().min(1).max(64),
  cpus: z.number().positive().max(4096).optional(),
  memMb: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024)
    .optional(),
  nodes: z.number().int().min(1).max(1000).default(1),
  timeS: z.number().int().positive().max(MAX_TIME_S),
});

/**
 * `drover.api.session.alloc`: an allocation is a job like any other (same intake, queue, fair
 * share, quotas and reservations: `submit` itself) of one chunk per node, spread so no two share
 * a node, whose processes only hold their cpus and memory (`sleep` for the allocation's time:
 * when it ends, the resources are free again and every run inside is stopped). `session.opened`
 * (kind `alloc`) names the job; the agent checks it before it treats a launch as a hold.
 */
export const sessionAlloc: Handler = async (ctx, req) => {
  const r = parseRequest('alloc request', AllocRequestSchema, req.body);
  await refuseTakenId(ctx, r.id);
  const known = ctx.live.model.nodes.size;
  if (r.nodes > known)
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `nodes: ${r.nodes} distinct nodes asked, the farm has ${known}`,
      { details: { issues: [{ path: 'nodes', message: `at most ${known}` }] } },
    );
  const body = {
    name: `alloc ${r.id}`,
    user: r.user,
    command: ['sleep', String(r.timeS)],
    chunks: r.nodes,
    spread: true,
    retries: 0,
    timeoutS: r.timeS + HOLD_SLACK_S,
    env: { DROVER_ALLOC: r.id },
    ...(r.cpus !== undefined && { cpus: r.cpus }),
    ...(r.memMb !== undefined && { memMb: r.memMb }),
  };
  const { jobId } = (await submit(ctx, { ...req, body })) as { jobId: string };
  await openSession(ctx, req, r.id, 'alloc-open', {
    kind: 'alloc',
    user: r.user,
    command: [],
    tty: false,
    cpus: r.cpus ?? 1,
    memMb: r.memMb ?? 512,
    nodes: r.nodes,
    timeS: r.timeS,
    jobId,
  });
  return { allocId: r.id, jobId };
};

/** What `session.open` passes on for a run inside an allocation. */
export interface RunInAlloc {
  id: string;
  user: string;
  command: string[];
  tty: boolean;
  cols?: number | undefined;
  rows?: number | undefined;
  alloc: string;
  node?: string | undefined;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
}

/**
 * A run inside an allocation (`drover run --alloc ID [--node N]`): no job and no placement of
 * its own (the allocation's hold already counts its resources), so it starts at once on a node
 * the allocation holds, asked of that node's agent. Only the allocation's owner may use it.
 */
export async function openInAlloc(ctx: ApiContext, req: ApiRequest, r: RunInAlloc) {
  const { state } = await ctx.runtime.load(sessionBehaviour, r.alloc);
  const alloc = state.context.opened;
  if (alloc?.kind !== 'alloc') throw notFound('alloc', `no allocation ${r.alloc}`);
  if (alloc.user !== r.user || (req.caller.user !== undefined && req.caller.user !== r.user))
    throw new SchedulerError(
      ErrorCodes.Forbidden,
      `allocation ${r.alloc} belongs to ${alloc.user}, not ${req.caller.user ?? r.user}`,
    );
  const held = state.context.placements.map((p) => p.node);
  const now = stateName(state);
  if (now !== 'running')
    throw new SchedulerError(
      ErrorCodes.Refused,
      `allocation ${r.alloc} is ${now === 'opened' ? 'still waiting for its nodes' : now}`,
    );
  const node = r.node ?? (held.length === 1 ? held[0] : undefined);
  if (node === undefined)
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `node: allocation ${r.alloc} holds ${held.join(', ')}; name one`,
      { details: { issues: [{ path: 'node', message: 'required for several nodes' }] } },
    );
  if (!held.includes(node)) throw notFound('node', `allocation ${r.alloc} holds no node ${node}`);
  await openSession(ctx, req, r.id, 'session-open', {
    kind: 'run',
    user: r.user,
    command: r.command,
    tty: r.tty,
    cpus: alloc.cpus,
    memMb: alloc.memMb,
    nodes: 1,
    node,
    alloc: r.alloc,
    ...(r.cols !== undefined && { cols: r.cols }),
    ...(r.rows !== undefined && { rows: r.rows }),
  });
  await startOnAgent(ctx, req, r, node);
  return { sessionId: r.id, alloc: r.alloc, node };
}

/** Ask the node's agent to start the run; a refusal or silence ends the session, saying why. */
async function startOnAgent(ctx: ApiContext, req: ApiRequest, r: RunInAlloc, node: string) {
  const body = { id: r.id, ...(r.cwd && { cwd: r.cwd }), ...(r.env && { env: r.env }) };
  let problem: string | undefined;
  try {
    const msg = await ctx.nc.request(agentSessionSubject(node), JSON.stringify(body), {
      timeout: 15_000,
    });
    const reply = JSON.parse(new TextDecoder().decode(msg.data)) as { ok: boolean; error?: string };
    if (!reply.ok) problem = reply.error ?? 'refused';
  } catch (err) {
    problem = `the agent of ${node} did not answer: ${(err as Error).message}`;
  }
  if (problem === undefined) return;
  await ctx.runtime.execute(sessionBehaviour, r.id, {
    type: 'EndSession',
    ...metaOf(ctx, req, actorOf(req.caller), 'alloc-refused'),
    data: { exitCode: null, signal: null, message: problem.slice(0, 4000) },
  });
  throw new SchedulerError(ErrorCodes.Unavailable, `run in ${r.alloc} on ${node}: ${problem}`);
}
