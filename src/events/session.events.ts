import { z } from 'zod';
import { EntityIdSchema, ResourcesSchema, WorkerIdSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

/** A terminal size in character cells (what `stty size` reports). */
const CellsSchema = z.number().int().min(1).max(10_000);

/**
 * A session was opened: `drover run` (kind `run`: one command, its stdio attached) or
 * `drover alloc` (kind `alloc`: resources held on `nodes` nodes for `timeS` seconds). Only what
 * must be durable is here: who, what, how big; the bytes of a session never enter the log.
 * A run inside an allocation names it in `alloc` and is placed on the allocation's node without
 * a job of its own.
 */
export const SessionOpenedSchema = eventSchema(
  'session.opened',
  1,
  z.object({
    kind: z.enum(['run', 'alloc']),
    user: z.string().min(1).max(64),
    command: z.array(z.string().max(16_384)).max(4096),
    tty: z.boolean(),
    cols: CellsSchema.optional(),
    rows: CellsSchema.optional(),
    cpus: ResourcesSchema.shape.cpus,
    memMb: ResourcesSchema.shape.memMb,
    /** How many nodes an allocation holds (1 for a run). */
    nodes: z.number().int().min(1).max(10_000),
    /** The node asked for with `--node`, if any. */
    node: EntityIdSchema.optional(),
    /** The allocation a run runs inside. */
    alloc: EntityIdSchema.optional(),
    /** How long an allocation holds its resources. */
    timeS: z
      .number()
      .int()
      .positive()
      .max(365 * 24 * 3600)
      .optional(),
    /** The job that carries the session through the queue (absent for a run inside an alloc). */
    jobId: EntityIdSchema.optional(),
  }),
);

/**
 * The session's process (or, for an allocation, one of its holds) was placed and started on
 * `node`: from here its bytes flow on the session's subjects. An allocation gets one per node.
 */
export const SessionPlacedSchema = eventSchema(
  'session.placed',
  1,
  z.object({
    node: EntityIdSchema,
    worker: WorkerIdSchema.optional(),
    pid: z.number().int().nonnegative().optional(),
  }),
);

/** The client's terminal changed size (SIGWINCH): the pty follows. */
export const SessionResizedSchema = eventSchema(
  'session.resized',
  1,
  z.object({ cols: CellsSchema, rows: CellsSchema }),
);

/**
 * Someone or something asked the session to stop: its user (`drover run` interrupted before the
 * command started, an allocation cancelled) or the agent (the client stopped answering: no
 * heartbeat within the grace). Says why; the process is stopped after it.
 */
export const SessionStopRequestedSchema = eventSchema(
  'session.stop_requested',
  1,
  z.object({ reason: z.string().max(1000) }),
);

/** The session ended: the command's exit code or signal, or why an allocation was released. */
export const SessionExitedSchema = eventSchema(
  'session.exited',
  1,
  z.object({
    exitCode: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    message: z.string().max(4000),
  }),
);

export const sessionEventSchemas = [
  SessionOpenedSchema,
  SessionPlacedSchema,
  SessionResizedSchema,
  SessionStopRequestedSchema,
  SessionExitedSchema,
] as const;

export type SessionOpened = z.infer<typeof SessionOpenedSchema>;
export type SessionEvent = z.infer<(typeof sessionEventSchemas)[number]>;
