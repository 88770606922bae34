import { z } from 'zod';
import {
  EntityIdSchema,
  PinnedEnvironmentSchema,
  ResourcesSchema,
  WorkerIdSchema,
} from './common.schemas.js';

/**
 * Messages from the scheduler to one node's agent, on the durable work queue
 * (`drover.work.<node>`): they survive an agent restart and are acknowledged once acted on.
 * The events remain the truth; a work message only says "act on this now". Pure.
 */
export const LaunchWorkSchema = z.object({
  kind: z.literal('launch'),
  worker: WorkerIdSchema,
  jobId: EntityIdSchema,
  chunk: z.number().int().nonnegative(),
  chunks: z.number().int().positive(),
  attempt: z.number().int().positive(),
  node: EntityIdSchema,
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  cwd: z.string().optional(),
  request: ResourcesSchema,
  timeoutS: z.number().int().positive().optional(),
  checkpoint: z.string().optional(),
  /** `resubmit --same-environment`: the agent starts the attempt only where this still holds. */
  pinnedEnvironment: PinnedEnvironmentSchema.optional(),
  /** The chunk as the scheduler left it (plain snapshot and last sequence): saves a read. */
  chunkState: z.object({ snapshot: z.unknown(), lastSeq: z.number().int().nonnegative() }),
});
export type LaunchWork = z.infer<typeof LaunchWorkSchema>;

export const KillWorkSchema = z.object({
  kind: z.literal('kill'),
  worker: WorkerIdSchema,
  /** Limits are the agent's own business; the scheduler only cancels, terminates or unhangs. */
  reason: z.enum(['cancel', 'hung', 'terminate']),
  graceMs: z.number().int().nonnegative().optional(),
  /** The chunk as the scheduler saw it when asking (its cancel included): saves the agent a read. */
  chunkState: z
    .object({ snapshot: z.unknown(), lastSeq: z.number().int().nonnegative() })
    .optional(),
  /** The worker likewise, its kill request included: the agent's report of the end appends
   * without a conflict and the read that follows one. */
  workerState: z
    .object({ snapshot: z.unknown(), lastSeq: z.number().int().nonnegative() })
    .optional(),
});
export type KillWork = z.infer<typeof KillWorkSchema>;

export const WorkSchema = z.discriminatedUnion('kind', [LaunchWorkSchema, KillWorkSchema]);
export type Work = z.infer<typeof WorkSchema>;

/**
 * The node's last memory and swap reading, as its agent samples them (`/proc/meminfo`, and the
 * `pswpin`/`pswpout` counters of `/proc/vmstat` as rates between two readings). Not an event:
 * a reading is not a change of state; an alert that swapping causes records what it saw.
 */
export const NodeReadingSchema = z.object({
  swapInPerSecond: z.number().nonnegative(),
  swapOutPerSecond: z.number().nonnegative(),
  memTotalBytes: z.number().nonnegative().optional(),
  memAvailableBytes: z.number().nonnegative().optional(),
  swapUsedBytes: z.number().nonnegative().optional(),
  /** When the sample was taken (epoch ms). */
  at: z.number(),
});
export type NodeReading = z.infer<typeof NodeReadingSchema>;

/** An agent's heartbeat (core NATS, about once a second): alive, and what it runs. */
export const HeartbeatSchema = z.object({
  node: EntityIdSchema,
  incarnation: z.string(),
  at: z.number(),
  workers: z.array(WorkerIdSchema),
  draining: z.boolean().default(false),
  /** The node's last reading (absent before the first sample, or from older agents). */
  reading: NodeReadingSchema.optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;
