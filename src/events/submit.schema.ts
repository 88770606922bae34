import { z } from 'zod';
import { EntityIdSchema, JobSpecSchema } from './common.schemas.js';
import type { JobSpec } from './common.schemas.js';
import { toFieldIssues } from './codec.js';
import { DecodeError, ErrorCodes } from './errors.js';

const spec = JobSpecSchema.shape;

/**
 * The public submit body of CONTRACT.md, strict: unknown fields, wrong types, an empty command
 * and negative or absurd resources are refused with the field named. Defaults are filled in by
 * `toJobSpec`, so the log only ever holds normalised specs. Pure.
 */
export const SubmitBodySchema = z.strictObject({
  name: spec.name,
  user: spec.user,
  command: spec.command,
  pool: spec.pool.optional(),
  cpus: spec.cpus.optional(),
  memMb: spec.memMb.optional(),
  gpus: spec.gpus.optional(),
  chunks: spec.chunks.optional(),
  retries: spec.retries.optional(),
  timeoutS: spec.timeoutS,
  after: z.array(EntityIdSchema).max(1000).optional(),
  parent: spec.parent,
  labels: spec.labels.optional(),
  excludeNodes: spec.excludeNodes.optional(),
  priority: spec.priority.optional(),
  env: spec.env.optional(),
  cwd: spec.cwd,
  reservation: spec.reservation,
  spread: spec.spread,
  memSizing: spec.memSizing,
  resubmitOf: spec.resubmitOf,
  pinnedEnvironment: spec.pinnedEnvironment,
});
export type SubmitBody = z.infer<typeof SubmitBodySchema>;

/** Defaults of a submission (CONTRACT.md leaves them to Drover; README lists them). */
export const SUBMIT_DEFAULTS = {
  pool: 'default',
  cpus: 1,
  memMb: 512,
  gpus: 0,
  chunks: 1,
  retries: 0,
  priority: 0,
} as const;

/**
 * Whether a submit body asks for `memMb: "auto"` (`submit --mem auto`): only the API resolves it
 * (it holds the usage history), into a figure and its `memSizing`, before `toJobSpec`. Pure.
 */
export function isMemAuto(body: unknown): body is Record<string, unknown> & { memMb: 'auto' } {
  return (
    typeof body === 'object' && body !== null && (body as { memMb?: unknown }).memMb === 'auto'
  );
}

declare const validSubmission: unique symbol;

/**
 * A job spec that passed `SubmitBodySchema` and got its defaults: only `toJobSpec` makes one, so
 * a layer that takes a `ValidJobSpec` (the API's intake publisher, the intake's hand-over to the
 * scheduler) cannot be given unvalidated data and need not check it again. Types only: at run
 * time it is the plain spec.
 */
export type ValidJobSpec = JobSpec & { readonly [validSubmission]: true };

/**
 * Validate a submission and normalise it into a job spec: the one check of a submission, done
 * where it enters a process (the API's `drover.api.submit`, the intake consumer, the CLI when it
 * publishes to the intake itself). Throws `DecodeError` naming every offending field (`subject`
 * is where it came from, for the message). Pure.
 */
export function toJobSpec(body: unknown, subject = 'submit'): ValidJobSpec {
  if (isMemAuto(body)) {
    const message = `"auto" is decided by drover.api.submit from the usage history; ${subject} takes memMb in MB`;
    throw new DecodeError(ErrorCodes.InvalidSubmission, `invalid submission: memMb: ${message}`, {
      subject,
      issues: [{ path: 'memMb', message }],
    });
  }
  const parsed = SubmitBodySchema.safeParse(body);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    const words = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new DecodeError(ErrorCodes.InvalidSubmission, `invalid submission: ${words}`, {
      subject,
      issues,
    });
  }
  const b = parsed.data;
  const spec: JobSpec = {
    ...SUBMIT_DEFAULTS,
    ...b,
    after: b.after ?? [],
    labels: b.labels ?? {},
    excludeNodes: b.excludeNodes ?? [],
    env: b.env ?? {},
  };
  return spec as ValidJobSpec;
}
