import { z } from 'zod';
import {
  EntityIdSchema,
  JobFailureCauseSchema,
  JobSpecSchema,
  SettledStateSchema,
} from './common.schemas.js';
import { eventSchema } from './envelope.js';

/** A job was submitted (v2: normalised spec with pool, labels and exclusions). */
export const JobSubmittedSchema = eventSchema('job.submitted', 2, JobSpecSchema);
/** Validated and waiting for placement (its chunks exist from here on). */
export const JobQueuedSchema = eventSchema('job.queued', 1, z.object({}));
export const JobHeldSchema = eventSchema('job.held', 1, z.object({ reason: z.string().max(1000) }));
export const JobReleasedSchema = eventSchema(
  'job.released',
  1,
  z.object({ reason: z.string().max(1000).optional() }),
);
/** The first chunk of the job was placed. */
export const JobStartedSchema = eventSchema('job.started', 1, z.object({}));
export const JobChildAddedSchema = eventSchema(
  'job.child_added',
  1,
  z.object({ childId: EntityIdSchema }),
);
/**
 * A child job reached a terminal state. `quiescent`: every process it ever started is
 * confirmed stopped (false when an attempt was lost with its node and not confirmed since).
 */
export const JobChildSettledSchema = eventSchema(
  'job.child_settled',
  1,
  z.object({ childId: EntityIdSchema, state: SettledStateSchema, quiescent: z.boolean() }),
);
export const JobChildQuiescedSchema = eventSchema(
  'job.child_quiesced',
  1,
  z.object({ childId: EntityIdSchema }),
);
const ChunkSettlementSchema = z.object({
  index: z.number().int().nonnegative(),
  state: SettledStateSchema,
  quiescent: z.boolean(),
});
/** Chunks of the job reached terminal states (batched: a cancel may settle thousands at once). */
export const JobChunksSettledSchema = eventSchema(
  'job.chunks_settled',
  1,
  z.object({ chunks: z.array(ChunkSettlementSchema).min(1) }),
);
export const JobChunksQuiescedSchema = eventSchema(
  'job.chunks_quiesced',
  1,
  z.object({ indices: z.array(z.number().int().nonnegative()).min(1) }),
);
export const JobPriorityChangedSchema = eventSchema(
  'job.priority_changed',
  1,
  z.object({
    priority: z.number().int().min(-1_000_000).max(1_000_000),
    reason: z.string().max(1000),
    /** Move to the global front, not only the front of the user's own order (POLICY.md). */
    global: z.boolean().default(false),
    /**
     * The waiting jobs that were ahead of this one in the global queue and come after it with
     * the new priority (POLICY §3: "lists which jobs they delayed"), as the queue stood when the
     * override was decided. Absent on overrides recorded before it was kept.
     */
    delayed: z.array(EntityIdSchema).max(1000).optional(),
  }),
);
/** One reason a job waits (POLICY.md pending reason codes), with what would unblock it. */
export const PendingReasonSchema = z.object({
  code: z.enum([
    'Priority',
    'Resources',
    'Unsatisfiable',
    'Constraint',
    'Excluded',
    'Dependency',
    'DependencyFailed',
    'Held',
    'Quota',
    'Reservation',
    'BeginTime',
    'Schedule',
    'Backoff',
  ]),
  message: z.string().max(2000),
  unblock: z.string().max(1000),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type PendingReason = z.infer<typeof PendingReasonSchema>;

/**
 * The scheduler's view of why the job still waits, written when the set of reasons changes (not
 * every round), with the queue as it stood: "why was this pending at 09:14?" is answerable later.
 */
export const JobPendingNotedSchema = eventSchema(
  'job.pending_noted',
  1,
  z.object({
    reasons: z.array(PendingReasonSchema).max(20),
    /** Position of the job's first waiting chunk in the global queue (0-based), and its length. */
    rank: z.number().int().nonnegative().optional(),
    queueLength: z.number().int().nonnegative().optional(),
    /** The users ahead of it in the queue with their dominant resource usage (bounded). */
    ahead: z
      .array(z.object({ user: z.string(), dru: z.number() }))
      .max(20)
      .default([]),
  }),
);
export const JobSucceededSchema = eventSchema('job.succeeded', 1, z.object({}));
export const JobFailedSchema = eventSchema(
  'job.failed',
  1,
  z.object({
    cause: JobFailureCauseSchema,
    message: z.string().max(4000),
    chunk: z.number().int().nonnegative().optional(),
  }),
);
export const JobCancelRequestedSchema = eventSchema(
  'job.cancel_requested',
  1,
  z.object({ reason: z.string().max(1000) }),
);
/** Every chunk and child settled and every process confirmed stopped. */
export const JobCancelledSchema = eventSchema('job.cancelled', 1, z.object({}));
export const JobResultsClearedSchema = eventSchema('job.results_cleared', 1, z.object({}));
/** Audit only: a command on this job that the machine refused, with why. Changes no state. */
export const JobCommandRejectedSchema = eventSchema(
  'job.command_rejected',
  1,
  z.object({ command: z.string(), code: z.string(), message: z.string().max(4000) }),
);

export const jobEventSchemas = [
  JobSubmittedSchema,
  JobQueuedSchema,
  JobHeldSchema,
  JobReleasedSchema,
  JobStartedSchema,
  JobChildAddedSchema,
  JobChildSettledSchema,
  JobChildQuiescedSchema,
  JobChunksSettledSchema,
  JobChunksQuiescedSchema,
  JobPriorityChangedSchema,
  JobPendingNotedSchema,
  JobSucceededSchema,
  JobFailedSchema,
  JobCancelRequestedSchema,
  JobCancelledSchema,
  JobResultsClearedSchema,
  JobCommandRejectedSchema,
] as const;

export type JobSubmitted = z.infer<typeof JobSubmittedSchema>;
export type JobEvent = z.infer<(typeof jobEventSchemas)[number]>;
