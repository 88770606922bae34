import { z } from 'zod';

/**
 * Shared value schemas of the vocabulary. Pure.
 *
 * Ids are single NATS subject tokens (no `.`, `*`, `>` or whitespace) so that an entity's
 * subject is exactly `drover.ev.<entity>.<id>`; `:` is reserved as the separator inside
 * derived ids (chunk `J:3`, worker `J:3:2`).
 */
export const EntityIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');

export const ChunkIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+:\d+$/, 'a chunk id is <jobId>:<index>');

export const WorkerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+:\d+:\d+$/, 'a worker id is <jobId>:<index>:<attempt>');

/** Who did it: every event records its author (CONTRACT: "who did it is always recorded"). */
export const ActorSchema = z.object({
  kind: z.enum(['user', 'admin', 'scheduler', 'agent', 'system']),
  id: z.string().min(1).max(128),
  /** The scheduler's fencing epoch; a deposed leader's events carry a stale one. */
  epoch: z.number().int().nonnegative().optional(),
});
export type Actor = z.infer<typeof ActorSchema>;

/** Failure causes of POLICY.md: every ended attempt has exactly one. */
export const FailureCauseSchema = z.enum([
  'Succeeded',
  'ExitNonZero',
  'Signaled',
  'OutOfMemory',
  'TimeLimit',
  'Cancelled',
  'NodeLost',
  'AgentRestarted',
  'LaunchFailed',
  'Preempted',
  'EnvironmentChanged',
]);
export type FailureCause = z.infer<typeof FailureCauseSchema>;

/** Why a whole job failed: an attempt's cause, or one of its `after` dependencies failing. */
export const JobFailureCauseSchema = z.union([FailureCauseSchema, z.literal('DependencyFailed')]);
export type JobFailureCause = z.infer<typeof JobFailureCauseSchema>;

export const SettledStateSchema = z.enum(['succeeded', 'failed', 'cancelled']);
export type SettledState = z.infer<typeof SettledStateSchema>;

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');

/**
 * What an attempt ran in (issue 20, "environments you can go back to"), captured by the agent
 * as it starts the attempt: the cwd's git commit and dirty flag when it is a repository, a hash
 * of the lockfiles found there (each file's own hash in `lockfiles`), the container image when the
 * job gives one, the agent's version, and a hash of the environment variables' names and values
 * (never the values themselves).
 */
export const EnvironmentSchema = z.object({
  cwd: z.string().min(1).max(4096),
  gitCommit: z.string().regex(/^[0-9a-f]{40,64}$/, 'a git object id').optional(),
  dirty: z.boolean().optional(),
  lockfileHash: Sha256Schema.optional(),
  lockfiles: z.record(z.string().min(1).max(255), Sha256Schema).optional(),
  image: z.string().min(1).max(512).optional(),
  envHash: Sha256Schema,
  agentVersion: z.string().min(1).max(64),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

/**
 * `resubmit --same-environment`: the recorded facts the copy must find again before it starts.
 * An absent field was absent when recorded (not a repository, no lockfile) and must still be.
 * `lockfiles` only names which files changed; `from` is the job whose environment it is.
 */
export const PinnedEnvironmentSchema = EnvironmentSchema.pick({
  gitCommit: true,
  dirty: true,
  lockfileHash: true,
  lockfiles: true,
}).extend({ from: z.string().min(1).max(128) });
export type PinnedEnvironment = z.infer<typeof PinnedEnvironmentSchema>;

const MAX_MEM_MB = 64 * 1024 * 1024; // 64 TiB: anything above is a typo, not a request.

/** Resources of a request or a node. Absurd values are rejected with the field named. */
export const ResourcesSchema = z.object({
  cpus: z.number().positive().max(4096),
  memMb: z.number().int().positive().max(MAX_MEM_MB),
  gpus: z.number().int().nonnegative().max(256),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/**
 * How `submit --mem auto` (or a name's `auto` default) decided the job's `memMb`: the rule, the
 * runs and the peak it rests on, or the fallback when the name had no run. Written by the API
 * that resolved it (src/policy/mem-sizing.ts), so the log holds the figure and its reasons.
 */
export const MemSizingSchema = z.strictObject({
  mode: z.literal('auto'),
  memMb: z.number().int().positive().max(MAX_MEM_MB),
  source: z.enum(['history', 'fallback']),
  name: z.string().min(1).max(200),
  decidedAt: z.number().int().nonnegative(),
  rule: z.strictObject({
    windowDays: z.number().positive().max(3650),
    lastRuns: z.number().int().positive().max(1000),
    headroom: z.number().min(1).max(100),
    stepMb: z.number().int().positive().max(1_048_576),
  }),
  runs: z
    .array(
      z.strictObject({
        worker: z.string().max(300),
        at: z.number().int().nonnegative(),
        peakMb: z.number().nonnegative(),
        cause: z.string().max(64),
      }),
    )
    .max(1001),
  peakMb: z.number().nonnegative().optional(),
  peakWorker: z.string().max(300).optional(),
  fallback: z.enum(['name default', 'submit default']).optional(),
  message: z.string().max(2000),
});
export type MemSizingRecord = z.infer<typeof MemSizingSchema>;

const LabelsSchema = z.record(z.string().min(1).max(63), z.string().max(253));

/**
 * A job as submitted, normalised (every default filled in). This is the submit body of
 * CONTRACT.md after defaults; `SubmitBodySchema` is the strict public input.
 */
export const JobSpecSchema = z.object({
  name: z.string().min(1).max(200),
  user: z.string().min(1).max(64),
  pool: z.string().min(1).max(64),
  command: z.array(z.string().max(16_384)).min(1).max(4096),
  cpus: ResourcesSchema.shape.cpus,
  memMb: ResourcesSchema.shape.memMb,
  gpus: ResourcesSchema.shape.gpus,
  chunks: z.number().int().min(1).max(1_000_000),
  retries: z.number().int().min(0).max(100),
  timeoutS: z
    .number()
    .int()
    .positive()
    .max(365 * 24 * 3600)
    .optional(),
  after: z.array(EntityIdSchema).max(1000),
  parent: EntityIdSchema.optional(),
  labels: LabelsSchema,
  excludeNodes: z.array(EntityIdSchema).max(1000),
  priority: z.number().int().min(-1_000_000).max(1_000_000),
  env: z.record(z.string().min(1).max(256), z.string().max(65_536)),
  cwd: z.string().min(1).max(4096).optional(),
  /** `submit --reservation NAME`: runs inside that reservation's window, on its resources. */
  reservation: EntityIdSchema.optional(),
  /** One chunk per node: no two chunks of the job ever share a node (`drover alloc --nodes`). */
  spread: z.boolean().optional(),
  /** Set when `memMb` was decided by `--mem auto`: how (the job's memory provenance). */
  memSizing: MemSizingSchema.optional(),
  /** `drover resubmit JOB`: this job is a copy of JOB's request (audited as such). */
  resubmitOf: EntityIdSchema.optional(),
  /** `resubmit --same-environment`: the agent refuses to start it where this no longer holds. */
  pinnedEnvironment: PinnedEnvironmentSchema.optional(),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

/** Opaque JSON-compatible value (chunk results): bounded by the log's max payload. */
export const JsonValueSchema: z.ZodType<unknown> = z.unknown();
