import {
  ErrorCodes,
  SchedulerError,
  type JobSpec,
  type PinnedEnvironment,
} from '../events/index.js';
import { loadOwnJob, modelOf, type Handler } from './api-context.js';
import type { ReadModel } from './read-model.js';
import { submit } from './api-commands.service.js';
import { RequestSchemas, parseRequest } from './protocol.js';
import { copiedAfter } from './references.js';
import { MAX_CHUNKS_SHOWN, latestEnvironment } from './views.js';

/**
 * The pin of `--same-environment`: the facts of JOB's latest started attempt that a copy must
 * find again. REFUSED when no attempt of JOB recorded an environment.
 */
function pinOf(model: ReadModel, id: string, spec: JobSpec): PinnedEnvironment {
  const env = latestEnvironment(model, id, Math.min(spec.chunks, MAX_CHUNKS_SHOWN));
  if (!env) {
    throw new SchedulerError(
      ErrorCodes.Refused,
      `job ${id} has no recorded environment (no attempt of it started on an agent that records one)`,
    );
  }
  return {
    from: id,
    ...(env.gitCommit !== undefined && { gitCommit: env.gitCommit }),
    ...(env.dirty !== undefined && { dirty: env.dirty }),
    ...(env.lockfileHash !== undefined && { lockfileHash: env.lockfileHash }),
    ...(env.lockfiles !== undefined && { lockfiles: env.lockfiles }),
  };
}

/**
 * `drover.api.resubmit`: submit a copy of JOB's request under a new id, through the one submit
 * path (validation, the intake, `Nats-Msg-Id`), recorded as `resubmitOf: JOB` in its
 * `job.submitted` (so `drover audit` shows it). The copy is a top-level job (JOB's parent may be
 * long settled). JOB may have been compacted: its request is read from the archive, and its
 * `after` loses the dependencies compacted as succeeded (`copiedAfter`). With `sameEnvironment`
 * it is pinned to JOB's latest recorded environment, and the agent refuses to start it where
 * that no longer holds. On a user's surface the copy is the caller's, and only the caller's own
 * jobs can be copied.
 */
export const resubmit: Handler = async (ctx, req) => {
  const r = parseRequest('resubmit request', RequestSchemas.resubmit, req.body);
  const { job, lastSeq } = await loadOwnJob(ctx, req.caller, r.id);
  await ctx.live.reach(lastSeq);
  const spec = job.context.spec as JobSpec;
  const { parent: _parent, resubmitOf: _of, pinnedEnvironment: _pin, ...request } = spec;
  const body = {
    ...request,
    after: await copiedAfter(ctx, spec.after),
    user: req.caller.user ?? r.user ?? spec.user,
    resubmitOf: r.id,
    ...(r.sameEnvironment === true && {
      pinnedEnvironment: pinOf(await modelOf(ctx, r.id), r.id, spec),
    }),
  };
  const out = await submit(ctx, { ...req, body });
  return {
    ...out,
    resubmitOf: r.id,
    ...(body.pinnedEnvironment && { pinnedEnvironment: body.pinnedEnvironment }),
  };
};
