import { jetstreamManager } from '@nats-io/jetstream';
import { stateName } from '../actors/index.js';
import { ErrorCodes, INTAKE_STREAM, SchedulerError, type ValidJobSpec } from '../events/index.js';
import type { ApiContext } from './api-context.js';

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

async function intakeLastSeq(ctx: ApiContext): Promise<number> {
  const info = await (await jetstreamManager(ctx.nc)).streams.info(INTAKE_STREAM);
  return info.state.last_seq;
}
