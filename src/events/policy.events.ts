import { z } from 'zod';
import { eventSchema } from './envelope.js';

/**
 * The farm's scheduling policy as data in the log (issue 18): fair-share weights, half-life and
 * λ, per-user quotas. Entity kind `policy`, one subject per policy domain
 * (`drover.ev.policy.fairshare`, `drover.ev.policy.quotas`): each domain's events carry its
 * next version number, gap-free (the machine's guard), so "which version did the scheduler use"
 * has one answer, and two admins racing cannot both write version N (expected-sequence append).
 * User names are not subject tokens (a job's `user` is any 1-64 characters), so users are data
 * inside the events, never part of the subject.
 */

/** The ids of the policy entities (one per domain). */
export const POLICY_IDS = {
  fairshare: 'fairshare',
  quotas: 'quotas',
  exclusions: 'exclusions',
  memory: 'memory',
} as const;

const Version = z.number().int().positive();
const User = z.string().min(1).max(64);
const Reason = z.string().max(1000).optional();

/** A user's fair-share weight w(u) (POLICY §1; default 1). */
export const PolicyWeightSetSchema = eventSchema(
  'policy.weight_set',
  1,
  z.object({
    version: Version,
    user: User,
    weight: z.number().positive().max(1_000_000),
    reason: Reason,
  }),
);

/** The fair-share half-life (seconds) and λ (how much decayed history counts). */
export const PolicyFairshareConfiguredSchema = eventSchema(
  'policy.fairshare_configured',
  1,
  z.object({
    version: Version,
    halfLifeS: z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 24 * 3600),
    lambda: z.number().min(0).max(1000),
    reason: Reason,
  }),
);

/** A user's quota: limits on running resources and on launches per minute (absent: no limit). */
export const QuotaLimitsSchema = z.object({
  cpus: z.number().nonnegative().max(1_000_000).optional(),
  memMb: z.number().int().nonnegative().max(1_000_000_000).optional(),
  gpus: z.number().int().nonnegative().max(100_000).optional(),
  launchesPerMin: z.number().int().nonnegative().max(1_000_000).optional(),
});
export type QuotaLimits = z.infer<typeof QuotaLimitsSchema>;

/** A user's quota was set: the limits replace the user's previous ones. */
export const PolicyQuotaSetSchema = eventSchema(
  'policy.quota_set',
  1,
  z.object({ version: Version, user: User, limits: QuotaLimitsSchema, reason: Reason }),
);

/** A user's quota was removed: no limits from now on. */
export const PolicyQuotaClearedSchema = eventSchema(
  'policy.quota_cleared',
  1,
  z.object({ version: Version, user: User, reason: Reason }),
);

const Node = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');

/** A standing exclusion: the placement never puts `user`'s jobs on `node`. */
export const PolicyExclusionAddedSchema = eventSchema(
  'policy.exclusion_added',
  1,
  z.object({ version: Version, user: User, node: Node, reason: Reason }),
);

/** A standing exclusion was lifted. */
export const PolicyExclusionRemovedSchema = eventSchema(
  'policy.exclusion_removed',
  1,
  z.object({ version: Version, user: User, node: Node, reason: Reason }),
);

const JobName = z.string().min(1).max(200);
const MemMb = z
  .number()
  .int()
  .positive()
  .max(64 * 1024 * 1024);

/**
 * A job name's memory default, used when a submission of that name gives no `memMb`: a size,
 * or `auto` (decided from the name's earlier runs, as `submit --mem auto`), with `fallbackMb`
 * for a name without runs (else the submit default).
 */
export const PolicyMemDefaultSetSchema = eventSchema(
  'policy.mem_default_set',
  1,
  z.object({
    version: Version,
    name: JobName,
    memMb: z.union([z.literal('auto'), MemMb]),
    fallbackMb: MemMb.optional(),
    reason: Reason,
  }),
);

/** A job name's memory default was removed: the submit default again. */
export const PolicyMemDefaultClearedSchema = eventSchema(
  'policy.mem_default_cleared',
  1,
  z.object({ version: Version, name: JobName, reason: Reason }),
);

export const policyEventSchemas = [
  PolicyWeightSetSchema,
  PolicyFairshareConfiguredSchema,
  PolicyQuotaSetSchema,
  PolicyQuotaClearedSchema,
  PolicyExclusionAddedSchema,
  PolicyExclusionRemovedSchema,
  PolicyMemDefaultSetSchema,
  PolicyMemDefaultClearedSchema,
] as const;

export type PolicyEvent = z.infer<(typeof policyEventSchemas)[number]>;
