import { jetstreamManager } from '@nats-io/jetstream';
import { stateName } from '../actors/index.js';
import { ErrorCodes, INTAKE_STREAM, SchedulerError, type ValidJobSpec } from '../events/index.js';
import type { ApiContext } from './api-context.js';
import { TERMINAL_STATES } from './views.js';

/**
 * Refuse a submission whose `--after` or `--parent` names a job that does not exist and cannot
 * be on its way: unknown to the read model and not an id the intake has already handed out (a
 * `j<N>` at or below the intake's last sequence may still be in flight; the intake decides those
 * and a waiting `submit --wait` hears its rejection). Without this, `submit --after j999` printed
 * an id for a job that would never exist.
 */
export async function refuseUnknownReferences(ctx: ApiContext, spec: ValidJobSpec): Promise<void> {
  const refs = [
    ...(spec.parent !== undefined ? [{ field: 'parent', id: spec.parent }] : []),
    ...spec.after.map((id, i) => ({ field: `after[${i}]`, id })),
  ];
  const known = async (id: string) => {
    // A job the read model let go of (retention) is read back from the log.
    const job = (await ctx.jobModel(id))?.jobs.get(id);
    return job !== undefined && stateName(job) !== 'none';
  };
  const unknown = [];
  for (const ref of refs) if (!(await known(ref.id))) unknown.push(ref);
  await refuseArchivedReferences(ctx, refs);
  if (unknown.length === 0) return;
  const handedOut = await intakeLastSeq(ctx);
  const missing = unknown.filter(({ id }) => !/^j\d+$/.test(id) || Number(id.slice(1)) > handedOut);
  if (missing.length === 0) return;
  const issues = missing.map(({ field, id }) => ({
    path: field,
    message: `job ${id} does not exist`,
  }));
  throw new SchedulerError(
    ErrorCodes.BadInput,
    issues.map((i) => `${i.path.replace(/\[\d+\]$/, '')}: ${i.message}`).join('; '),
    { details: { issues } },
  );
}

/**
 * Refuse references to compacted jobs (`drover compact` moved their trees to the archive): the
 * scheduler reads the live log only, so for its intake such a job is unknown, and a submission
 * naming one would be held waiting for it, then rejected, after the API had answered a job id.
 * Only a finished job can be compacted, so only those are looked up (one direct get each).
 */
async function refuseArchivedReferences(
  ctx: ApiContext,
  refs: readonly { field: string; id: string }[],
): Promise<void> {
  const issues = [];
  for (const { field, id } of refs) {
    const inModel = ctx.live.model.jobs.get(id);
    if (inModel && !TERMINAL_STATES.has(stateName(inModel))) continue;
    const archived = await ctx.archivedJob(id);
    if (!archived) continue;
    const state = stateName(archived.state);
    const why =
      field === 'parent'
        ? 'children join open jobs only'
        : state === 'succeeded'
          ? 'leave it out: it succeeded'
          : 'a job after it could never run';
    issues.push({
      path: field,
      message: `job ${id} ended ${state} and was compacted to the archive; the scheduler no longer knows it: ${why}`,
    });
  }
  if (issues.length === 0) return;
  throw new SchedulerError(
    ErrorCodes.Refused,
    issues.map((i) => `${i.path}: ${i.message}`).join('; '),
    { details: { issues } },
  );
}

/**
 * The `after` of a copy of a job (`drover resubmit`): its dependencies less those compacted to
 * the archive as succeeded. The copy would not wait for them (they succeeded), and naming them
 * would have the copy refused (`refuseArchivedReferences`). Any other compacted one stays, and
 * the copy is refused naming it: it could never run.
 */
export async function copiedAfter(ctx: ApiContext, after: readonly string[]): Promise<string[]> {
  const kept: string[] = [];
  for (const id of after) {
    const archived = await ctx.archivedJob(id);
    if (!archived || stateName(archived.state) !== 'succeeded') kept.push(id);
  }
  return kept;
}

async function intakeLastSeq(ctx: ApiContext): Promise<number> {
  const info = await (await jetstreamManager(ctx.nc)).streams.info(INTAKE_STREAM);
  return info.state.last_seq;
}
