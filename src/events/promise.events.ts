import { z } from 'zod';
import { ChunkIdSchema, EntityIdSchema, WorkerIdSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

const Millis = z.number().int().nonnegative().max(8.64e15);

/**
 * Admission accepted a start-by promise for a job (`submit --start-by`): the job must start by
 * `startBy` (epoch ms). `booking` is where and when admission found it fits for its whole time
 * limit, by the farm's model at `at`; the scheduler may start it on any fitting node earlier.
 * The sequence of this event is the promise's `acceptedSeq` in `drover promises`.
 */
export const PromiseAcceptedSchema = eventSchema(
  'promise.accepted',
  1,
  z.object({
    jobId: EntityIdSchema,
    user: z.string().min(1).max(64),
    startBy: Millis,
    timeoutS: z.number().int().positive().max(31_536_000),
    request: z.object({
      cpus: z.number().nonnegative().max(1_000_000),
      memMb: z.number().int().nonnegative().max(1_000_000_000),
      gpus: z.number().int().nonnegative().max(100_000),
    }),
    booking: z.object({ node: EntityIdSchema, startAt: Millis }),
  }),
);

/** The promised job started in time: `startedSeq` is the sequence of its first `chunk.started`. */
export const PromiseKeptSchema = eventSchema(
  'promise.kept',
  1,
  z.object({ startedSeq: z.number().int().positive(), startedAt: Millis, chunk: ChunkIdSchema }),
);

/** Start-by passed and the job had not started (or it ended without starting): `why` says. */
export const PromiseBrokenSchema = eventSchema(
  'promise.broken',
  1,
  z.object({ why: z.string().min(1).max(1000) }),
);

/**
 * The leading scheduler stopped running work to keep this promise (preemption): the job could
 * not otherwise start by its start-by. Each victim is one attempt of a chunk on `node`, asked
 * to stop (SIGTERM, its grace) and requeued from its checkpoint with the cause `Preempted`.
 * Written before the kills: the log says why a process was stopped before it is.
 */
export const PromisePreemptedSchema = eventSchema(
  'promise.preempted',
  1,
  z.object({
    node: EntityIdSchema,
    victims: z
      .array(
        z.object({
          jobId: EntityIdSchema,
          chunk: ChunkIdSchema,
          worker: WorkerIdSchema,
          attempt: z.number().int().positive(),
          user: z.string().min(1).max(64),
        }),
      )
      .min(1)
      .max(64),
    why: z.string().min(1).max(1000),
  }),
);

export const promiseEventSchemas = [
  PromiseAcceptedSchema,
  PromiseKeptSchema,
  PromiseBrokenSchema,
  PromisePreemptedSchema,
] as const;

export type PromiseEvent = z.infer<(typeof promiseEventSchemas)[number]>;
