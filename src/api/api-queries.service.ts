import {
  ErrorCodes,
  SchedulerError,
  agentLogsSubject,
  chunkId,
  decodeBody,
  encodeBody,
  workerId,
  type LogReply,
} from '../events/index.js';
import type { ApiContext, Handler } from './api-context.js';
import { adviseFromLog, explainJob, type LogSource } from './explain.js';
import { jobPage } from './job-pages.js';
import { RequestSchemas, parseRequest } from './protocol.js';
import { jobList, jobView, nodeList, type JobState } from './views.js';

/**
 * `drover.api.job.get`: the CONTRACT `job` shape (`chunks: false` leaves the chunk list out), of
 * a job in the read model or, let go of, read back from the log.
 */
export const jobGet: Handler = async (ctx, req) => {
  const r = parseRequest('job request', RequestSchemas['job.get'], req.body);
  const model = await ctx.jobModel(r.id);
  const view = model && jobView(model, r.id);
  if (!model || !view) throw new SchedulerError(ErrorCodes.NotFound, `no job ${r.id}`);
  if (r.chunks === false) {
    const job = model.jobs.get(r.id);
    const progress = { total: view.chunks.length, done: job?.context.chunks.settled ?? 0 };
    progress.total = job?.context.spec?.chunks ?? progress.total;
    return { job: { ...view, chunks: [] }, progress };
  }
  return { job: view };
};

/**
 * `drover.api.jobs.list`: the CONTRACT `jobs` rows (not terminal ones unless `all` or `state`).
 * Without paging fields the whole list in one reply, as it always was; with `after` or
 * `pageSize` one page that fits a body, and `next` when more follow (a farm's full list does not
 * fit one body: issue 23).
 */
export const jobsList: Handler = async (ctx, req) => {
  const r = parseRequest('jobs request', RequestSchemas['jobs.list'], req.body);
  const filter = {
    ...(r.user !== undefined && { user: r.user }),
    ...(r.state !== undefined && { state: r.state as JobState }),
    ...(r.all !== undefined && { all: r.all }),
    ...(r.limit !== undefined && { limit: r.limit }),
  };
  if (r.after === undefined && r.pageSize === undefined) {
    return { jobs: jobList(ctx.live.model, filter) };
  }
  const afterSeq = r.after === undefined ? undefined : await cursorSeq(ctx, r.after);
  const page = {
    ...(afterSeq !== undefined && { afterSeq }),
    ...(r.pageSize !== undefined && { pageSize: r.pageSize }),
  };
  return { ...jobPage(ctx.live.model, filter, page) };
};

/**
 * The place in the list of the job a page's `after` names: from the read model, or from the log
 * (the archive too) when the job has left the model since the page that named it (retention,
 * compaction): a client paging through must not fail because time passed. NOT_FOUND naming
 * `after` only for a job the log never held.
 */
async function cursorSeq(ctx: ApiContext, after: string): Promise<number> {
  const seq = await ctx.submittedSeq(after);
  if (seq === undefined) {
    throw new SchedulerError(ErrorCodes.NotFound, `after: job ${after} does not exist`, {
      details: { issues: [{ path: 'after', message: 'unknown job' }] },
    });
  }
  return seq;
}

/** `drover.api.nodes.list`: the CONTRACT `nodes` rows. */
export const nodesList: Handler = async (ctx, req) => {
  parseRequest('nodes request', RequestSchemas['nodes.list'], req.body);
  return { nodes: nodeList(ctx.live.model) };
};

/** Ask a node's agent for a log; UNAVAILABLE when it does not answer. */
export async function askAgent(
  ctx: ApiContext,
  node: string,
  body: Record<string, unknown>,
  timeoutMs = 3_000,
): Promise<LogReply> {
  let data: Uint8Array;
  try {
    const msg = await ctx.nc.request(agentLogsSubject(node), encodeBody(body, undefined), {
      timeout: timeoutMs,
    });
    data = msg.data;
  } catch (err) {
    throw new SchedulerError(
      ErrorCodes.Unavailable,
      `agent of ${node} did not answer: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const reply = decodeBody(data, undefined) as
    ({ ok: true } & LogReply) | { ok: false; error: { code: string; message: string } };
  if (!reply.ok)
    throw new SchedulerError(ErrorCodes.Unavailable, `agent of ${node}: ${reply.error.message}`);
  return reply;
}

async function logTail(ctx: ApiContext, source: LogSource): Promise<string[]> {
  const lines: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    try {
      const r = await askAgent(ctx, source.node, { worker: source.worker, stream, tailLines: 20 });
      const text = r.text.replace(/\n$/, '');
      if (text)
        lines.push(...text.split('\n').map((l) => (stream === 'stderr' ? `[stderr] ${l}` : l)));
    } catch (err) {
      ctx.logger.debug({ err, node: source.node }, 'log tail unavailable');
      return [`(log unavailable: ${(err as Error).message})`];
    }
  }
  return lines;
}

/** `drover.api.explain`: why pending (reasons), or why failed (cause, meaning, log tail). */
export const explain: Handler = async (ctx, req) => {
  const r = parseRequest('explain request', RequestSchemas.explain, req.body);
  const model = await ctx.jobModel(r.id);
  const out = model && explainJob(model, r.id, { usage: ctx.live.usage, now: ctx.clock() });
  if (!out) throw new SchedulerError(ErrorCodes.NotFound, `no job ${r.id}`);
  const { explanation, source } = out;
  if (source && explanation.failure) explanation.failure.logTail = await logTail(ctx, source);
  adviseFromLog(explanation);
  return { explain: explanation };
};

const MAX_LOG_CHUNKS = 100;

/**
 * `drover.api.logs`: the captured stdout/stderr of a job's processes (the last attempt of each
 * chunk, or the one asked for), fetched from each node's agent. `fromByte` continues a follow.
 */
export const logs: Handler = async (ctx, req) => {
  const r = parseRequest('logs request', RequestSchemas.logs, req.body);
  const model = await ctx.jobModel(r.id);
  const job = model?.jobs.get(r.id)?.context.spec;
  if (!model || !job) throw new SchedulerError(ErrorCodes.NotFound, `no job ${r.id}`);
  if (r.chunk !== undefined && r.chunk >= job.chunks) {
    throw new SchedulerError(ErrorCodes.NotFound, `job ${r.id} has no chunk ${r.chunk}`);
  }
  const indices =
    r.chunk !== undefined
      ? [r.chunk]
      : Array.from({ length: Math.min(job.chunks, MAX_LOG_CHUNKS) }, (_, i) => i);
  const streams = r.stream ? [r.stream] : (['stdout', 'stderr'] as const);
  const entries = [];
  for (const index of indices) {
    const attempts = model.chunks.get(chunkId(r.id, index))?.context.attempts ?? [];
    const a =
      r.attempt !== undefined ? attempts.find((x) => x.attempt === r.attempt) : attempts.at(-1);
    if (!a) continue;
    for (const stream of streams) {
      const ask = {
        worker: workerId(r.id, index, a.attempt),
        stream,
        ...(r.fromByte !== undefined
          ? { fromByte: r.fromByte }
          : { tailLines: r.tailLines ?? 1000 }),
      };
      const got = await askAgent(ctx, a.node, ask).catch((err: SchedulerError) => ({
        text: '',
        size: 0,
        nextByte: r.fromByte ?? 0,
        unavailable: err.message,
      }));
      entries.push({
        chunk: index,
        attempt: a.attempt,
        worker: a.worker,
        node: a.node,
        stream,
        ...got,
      });
    }
  }
  return { entries };
};
