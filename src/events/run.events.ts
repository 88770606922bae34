import { z } from 'zod';
import { isIsoDate } from './calendar.events.js';
import { EntityIdSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';
import { WorkflowNameSchema } from './workflow.events.js';

/**
 * A run's logical date: `YYYY-MM-DD` in the schedule's zone, or `YYYY-MM-DDTHHMMSS` (local wall
 * time, no colons: it is part of subjects and job ids) for a schedule that fires more than once a
 * day. Strings of either form sort in time order.
 */
export const LogicalDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{6})?$/, 'expected YYYY-MM-DD or YYYY-MM-DDTHHMMSS')
  .refine((s) => isIsoDate(s.slice(0, 10)), 'not a calendar date');

/** How a run came to be: the timekeeper's schedule, `workflow trigger`, or `workflow backfill`. */
export const RunTriggerSchema = z.enum(['schedule', 'manual', 'backfill']);
export type RunTrigger = z.infer<typeof RunTriggerSchema>;

/**
 * A run of a workflow for one logical date was created (id `NAME@DATE`). Its first event, so
 * appending it with "no prior event" as the condition is what makes a fire happen once: a second
 * scheduler (failover, restart) computing the same fire finds the run and appends nothing. It
 * records the workflow and calendar versions that decided it, and the job its tasks hang under.
 */
export const RunScheduledSchema = eventSchema(
  'run.scheduled',
  1,
  z.object({
    workflow: WorkflowNameSchema,
    date: LogicalDateSchema,
    workflowVersion: z.number().int().positive(),
    calendarVersion: z.number().int().positive().optional(),
    trigger: RunTriggerSchema,
    /** The fire instant the schedule decided (the moment of the request for manual/backfill). */
    fireAt: z.number().int().nonnegative(),
    /** The run's job: every task is a child job of it. */
    jobId: EntityIdSchema,
  }),
);
/** A task's job was submitted (its trigger rule and condition allowed it). */
export const RunTaskSubmittedSchema = eventSchema(
  'run.task_submitted',
  1,
  z.object({ task: EntityIdSchema, jobId: EntityIdSchema }),
);
/**
 * A task will not run: `skipped` (its condition is false, or everything upstream was skipped, or
 * its rule cannot hold), `upstream_failed` (an upstream task failed under a rule that needs it).
 */
export const RunTaskSkippedSchema = eventSchema(
  'run.task_skipped',
  1,
  z.object({
    task: EntityIdSchema,
    state: z.enum(['skipped', 'upstream_failed']),
    reason: z.string().max(1000),
  }),
);
export const RunSucceededSchema = eventSchema('run.succeeded', 1, z.object({}));
export const RunFailedSchema = eventSchema(
  'run.failed',
  1,
  z.object({ tasks: z.array(EntityIdSchema).max(200) }),
);
export const RunCancelledSchema = eventSchema('run.cancelled', 1, z.object({}));
/** Nothing of the run will run: overlap or catch-up policy, or every task skipped. */
export const RunSkippedSchema = eventSchema(
  'run.skipped',
  1,
  z.object({ reason: z.string().max(1000) }),
);

/**
 * A person asked for some of an ended run's task instances to run again (`drover rerun`). Who is
 * the envelope's `by`; the data lists exactly the instances cleared (their old jobs, whose
 * results the kernel's clear cleared first, unless compacted to the archive, which is closed) and
 * the run's new job, parent of the new tasks' jobs: the old run job has ended and takes no
 * children. The run is `running` again and those tasks undecided, so the timekeeper decides them
 * anew under the same trigger rules and `dependsOnPast` as a first run.
 */
export const RunRerunRequestedSchema = eventSchema(
  'run.rerun_requested',
  1,
  z.object({
    /** 1 for the first rerun of the run, then 2, ...: part of the new jobs' ids. */
    rerun: z.number().int().positive(),
    tasks: z
      .array(
        z.object({
          task: EntityIdSchema,
          jobId: EntityIdSchema.nullable(),
          state: z.string().min(1).max(32),
        }),
      )
      .min(1)
      .max(200),
    jobId: EntityIdSchema,
    reason: z.string().max(1000).optional(),
  }),
);

/** What a notification is about (CONTRACT `notify.on`). */
export const NotifyEventSchema = z.enum(['retry', 'failure', 'success', 'missed']);
export type NotifyEvent = z.infer<typeof NotifyEventSchema>;

/**
 * One webhook delivery attempt of a run's notification (the workflow's `notify`), as the sender
 * reported it: every attempt is an event, failures included. `key` is the notification's
 * `Idempotency-Key`; the log is the outbox, so a notification without a final attempt here is
 * owed again (with the same key) after a crash.
 */
export const RunNotifiedSchema = eventSchema(
  'run.notified',
  1,
  z.object({
    key: z.string().min(1).max(300),
    event: NotifyEventSchema,
    task: EntityIdSchema.optional(),
    url: z.string().min(1).max(2000),
    attempt: z.number().int().positive(),
    ok: z.boolean(),
    status: z.number().int().optional(),
    error: z.string().max(1000).optional(),
    /** Absent on a failed attempt: it was the last one (rejected or out of attempts). */
    retryInMs: z.number().int().nonnegative().optional(),
  }),
);

export const runEventSchemas = [
  RunScheduledSchema,
  RunTaskSubmittedSchema,
  RunTaskSkippedSchema,
  RunSucceededSchema,
  RunFailedSchema,
  RunCancelledSchema,
  RunSkippedSchema,
  RunRerunRequestedSchema,
  RunNotifiedSchema,
] as const;

export type RunEvent = z.infer<(typeof runEventSchemas)[number]>;
