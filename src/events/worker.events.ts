import { z } from 'zod';
import { EntityIdSchema, EnvironmentSchema, FailureCauseSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

/** Usage figures a worker reports: the peak is the true peak seen while it ran. */
const UsageSchema = z.object({
  peakRssMb: z.number().nonnegative(),
  cpuSeconds: z.number().nonnegative(),
  wallSeconds: z.number().nonnegative(),
});

/** One worker is one attempt's process group on one node. */
export const WorkerLaunchingSchema = eventSchema(
  'worker.launching',
  1,
  z.object({
    jobId: EntityIdSchema,
    chunk: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    node: EntityIdSchema,
    memLimitMb: z.number().int().positive(),
    timeoutS: z.number().int().positive().optional(),
  }),
);
/**
 * The process group runs. `environment`: what the attempt runs in, captured by the agent just
 * before it started the process (absent on attempts started before agents recorded it).
 */
export const WorkerStartedSchema = eventSchema(
  'worker.started',
  1,
  z.object({
    pid: z.number().int().positive(),
    pgid: z.number().int().positive(),
    environment: EnvironmentSchema.optional(),
  }),
);
/** A usage sample of the whole process tree, written at a bounded rate and on every new peak. */
export const WorkerSampledSchema = eventSchema(
  'worker.sampled',
  1,
  z.object({
    rssMb: z.number().nonnegative(),
    peakRssMb: z.number().nonnegative(),
    cpuSeconds: z.number().nonnegative(),
  }),
);
export const WorkerKillRequestedSchema = eventSchema(
  'worker.kill_requested',
  1,
  z.object({
    reason: z.enum(['cancel', 'out_of_memory', 'time_limit', 'hung', 'terminate']),
    signal: z.string().max(16),
  }),
);
/** The longest `message` a `worker.exited` carries (the agent cuts longer ones). */
export const WORKER_MESSAGE_MAX = 1000;
/**
 * The process group ended on its own (or a launch failed, or the agent refused to start it).
 * `message`: the agent's words on how the attempt ended when it did not succeed, e.g. what
 * changed in a pinned environment (absent on a success and on events from agents before it).
 */
export const WorkerExitedSchema = eventSchema(
  'worker.exited',
  1,
  UsageSchema.extend({
    exitCode: z.number().int().nullable(),
    signal: z.string().max(16).nullable(),
    cause: FailureCauseSchema,
    message: z.string().max(WORKER_MESSAGE_MAX).optional(),
  }),
);
/** Drover stopped it and the whole process group is confirmed gone. */
export const WorkerKilledSchema = eventSchema(
  'worker.killed',
  1,
  UsageSchema.extend({ signal: z.string().max(16), cause: FailureCauseSchema }),
);
/** Its agent or node stopped answering; the process may still run until confirmed. */
export const WorkerLostSchema = eventSchema(
  'worker.lost',
  1,
  z.object({
    cause: z.enum(['NodeLost', 'AgentRestarted']),
    reason: z.string().max(1000),
  }),
);
/** A restarted agent found the process alive and took it back. */
export const WorkerReadoptedSchema = eventSchema(
  'worker.readopted',
  1,
  z.object({ pid: z.number().int().positive() }),
);

export const workerEventSchemas = [
  WorkerLaunchingSchema,
  WorkerStartedSchema,
  WorkerSampledSchema,
  WorkerKillRequestedSchema,
  WorkerExitedSchema,
  WorkerKilledSchema,
  WorkerLostSchema,
  WorkerReadoptedSchema,
] as const;

export type WorkerEvent = z.infer<(typeof workerEventSchemas)[number]>;
