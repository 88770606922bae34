import { z } from 'zod';
import {
  EntityIdSchema,
  FailureCauseSchema,
  JsonValueSchema,
  ResourcesSchema,
  WorkerIdSchema,
} from './common.schemas.js';
import { eventSchema } from './envelope.js';

/** Attempt numbers are 1-based fencing tokens: a report carrying an older one is stale. */
const AttemptSchema = z.number().int().positive();

export const ChunkCreatedSchema = eventSchema(
  'chunk.created',
  1,
  z.object({
    jobId: EntityIdSchema,
    index: z.number().int().nonnegative(),
    total: z.number().int().positive(),
  }),
);
/** Why the scheduler placed a chunk where it did, and why not elsewhere (bounded). */
export const PlacementDecisionSchema = z.object({
  /** The chunk's dominant resource usage in the queue, and its position (0-based). */
  dru: z.number(),
  rank: z.number().int().nonnegative(),
  skipped: z
    .array(
      z.object({
        node: EntityIdSchema,
        reason: z.enum(['not_ready', 'constraint', 'excluded', 'avoided', 'too_small', 'full']),
      }),
    )
    .max(16),
});

/** Placed on a node: opens attempt `attempt` (previous + 1) with the resources it gets. */
export const ChunkAssignedSchema = eventSchema(
  'chunk.assigned',
  1,
  z.object({
    attempt: AttemptSchema,
    node: EntityIdSchema,
    worker: WorkerIdSchema,
    request: ResourcesSchema,
    /** Optional in v1: written by the scheduler since placement decisions are events. */
    decision: PlacementDecisionSchema.optional(),
  }),
);
export const ChunkStartedSchema = eventSchema(
  'chunk.started',
  1,
  z.object({ attempt: AttemptSchema, pid: z.number().int().positive() }),
);
export const ChunkProgressedSchema = eventSchema(
  'chunk.progressed',
  1,
  z.object({
    attempt: AttemptSchema,
    progress: z.number().min(0).max(1),
    checkpoint: z.string().max(65_536).optional(),
    message: z.string().max(1000).optional(),
  }),
);
export const ChunkSucceededSchema = eventSchema(
  'chunk.succeeded',
  1,
  z.object({ attempt: AttemptSchema, result: JsonValueSchema.optional() }),
);
/**
 * The current attempt ended without success. `confirmed`: its process is known to be gone
 * (false for a lost node: the process may still run, fenced off by the attempt number).
 */
export const ChunkAttemptFailedSchema = eventSchema(
  'chunk.attempt_failed',
  1,
  z.object({
    attempt: AttemptSchema,
    cause: FailureCauseSchema,
    exitCode: z.number().int().optional(),
    signal: z.string().max(16).optional(),
    message: z.string().max(4000).optional(),
    confirmed: z.boolean(),
  }),
);
/**
 * The retry policy's verdict on the failed attempt: when the next one may start, with what
 * request (raised after out-of-memory) and which nodes it should avoid.
 */
export const ChunkRetryScheduledSchema = eventSchema(
  'chunk.retry_scheduled',
  1,
  z.object({
    attempt: AttemptSchema,
    notBefore: z.number().int().nonnegative(),
    request: ResourcesSchema,
    avoidNodes: z.array(EntityIdSchema).max(1000),
    countsAgainstRetries: z.boolean(),
    reason: z.string().max(1000),
  }),
);
/** No attempt is left: the chunk is failed for good. */
export const ChunkFailedSchema = eventSchema(
  'chunk.failed',
  1,
  z.object({
    cause: z.union([FailureCauseSchema, z.literal('DependencyFailed')]),
    message: z.string().max(4000),
  }),
);
export const ChunkCancelRequestedSchema = eventSchema(
  'chunk.cancel_requested',
  1,
  z.object({ reason: z.string().max(1000) }),
);
/** Cancelled; when a process ran, `attempt` names it and `confirmed` says it is gone. */
export const ChunkCancelledSchema = eventSchema(
  'chunk.cancelled',
  1,
  z.object({ attempt: AttemptSchema.optional(), confirmed: z.boolean() }),
);
/** The process of an earlier, unconfirmed attempt is now known to be gone. */
export const ChunkProcessStoppedSchema = eventSchema(
  'chunk.process_stopped',
  1,
  z.object({ attempt: AttemptSchema }),
);
/** Audit only: a result that was refused (stale attempt, after cancel or clear). Never stored. */
export const ChunkResultRejectedSchema = eventSchema(
  'chunk.result_rejected',
  1,
  z.object({
    attempt: AttemptSchema,
    currentAttempt: z.number().int().nonnegative(),
    state: z.string(),
    reason: z.string().max(1000),
  }),
);
export const ChunkResultsClearedSchema = eventSchema('chunk.results_cleared', 1, z.object({}));
export const ChunkCommandRejectedSchema = eventSchema(
  'chunk.command_rejected',
  1,
  z.object({ command: z.string(), code: z.string(), message: z.string().max(4000) }),
);

export const chunkEventSchemas = [
  ChunkCreatedSchema,
  ChunkAssignedSchema,
  ChunkStartedSchema,
  ChunkProgressedSchema,
  ChunkSucceededSchema,
  ChunkAttemptFailedSchema,
  ChunkRetryScheduledSchema,
  ChunkFailedSchema,
  ChunkCancelRequestedSchema,
  ChunkCancelledSchema,
  ChunkProcessStoppedSchema,
  ChunkResultRejectedSchema,
  ChunkResultsClearedSchema,
  ChunkCommandRejectedSchema,
] as const;

export type ChunkEvent = z.infer<(typeof chunkEventSchemas)[number]>;
