import { z } from 'zod';
import { IsoDateSchema, TimeZoneSchema, WallTimeSchema } from './calendar.events.js';
import { EntityIdSchema, JobSpecSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

const spec = JobSpecSchema.shape;
/** A workflow or task name: one subject token, short enough to derive job ids from. */
export const WorkflowNameSchema = z
  .string()
  .min(1)
  .max(60)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');
const NameSchema = WorkflowNameSchema;
/** Task ids are shorter: a task's job id is `<workflow>_<date>_<task>` (at most 128 characters). */
const TaskIdSchema = WorkflowNameSchema.max(40);

/** Trigger rules of a task (CONTRACT "Workflows and schedules"), over its `after` tasks. */
export const TRIGGER_RULES = ['all_success', 'all_done', 'one_failed', 'none_failed'] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];
/** Notification events a workflow may subscribe a URL to. */
export const NOTIFY_EVENTS = ['retry', 'failure', 'success', 'missed'] as const;

/**
 * One task of a workflow: a job of the run's job tree. `command` absent is a task that only
 * waits (a sensor, a join): it runs `true`. `mem` ("4G") is read into `memMb` by `parseWorkflow`.
 */
export const TaskSchema = z.strictObject({
  id: TaskIdSchema,
  command: spec.command.optional(),
  waitUntil: WallTimeSchema.optional(),
  after: z.array(TaskIdSchema).max(200).default([]),
  trigger: z.enum(TRIGGER_RULES).default('all_success'),
  when: z
    .string()
    .regex(
      /^(trading_day|not_trading_day|weekday:[1-7])$/,
      'expected trading_day, not_trading_day or weekday:N (1-7)',
    )
    .optional(),
  retries: spec.retries.optional(),
  timeoutS: spec.timeoutS,
  cpus: spec.cpus.optional(),
  memMb: spec.memMb.optional(),
  mem: z.string().max(32).optional(),
  gpus: spec.gpus.optional(),
  env: spec.env.optional(),
});
export type Task = z.infer<typeof TaskSchema>;

/** When a workflow fires (the timing part is `Schedule` of `src/policy/calendar`). */
export const WorkflowScheduleSchema = z.strictObject({
  cron: z.string().min(1).max(200).optional(),
  timezone: TimeZoneSchema.optional(),
  calendar: EntityIdSchema.optional(),
  at: z.string().min(1).max(40).optional(),
  catchup: z.enum(['all', 'latest', 'none']).default('all'),
  dependsOnPast: z.boolean().default(false),
  overlap: z.enum(['skip', 'buffer-one', 'allow']).default('buffer-one'),
  /** First and last logical dates the schedule fires for (both included). */
  start: IsoDateSchema.optional(),
  end: IsoDateSchema.optional(),
});
export type WorkflowSchedule = z.infer<typeof WorkflowScheduleSchema>;

/**
 * A workflow as applied (CONTRACT "Workflows and schedules"); cross-field rules (unique task
 * ids, `after` naming known tasks, no cycle, a schedule that can fire) are `workflowProblems`.
 * `cwd` (an addition): where task commands run; `drover workflow apply` fills in the file's
 * folder when absent.
 */
export const WorkflowSchema = z.strictObject({
  name: NameSchema,
  schedule: WorkflowScheduleSchema.optional(),
  tasks: z.array(TaskSchema).min(1).max(200),
  notify: z
    .array(
      z.strictObject({
        url: z.string().url().max(2000),
        on: z.array(z.enum(NOTIFY_EVENTS)).min(1),
      }),
    )
    .max(20)
    .default([]),
  deadline: WallTimeSchema.optional(),
  cwd: spec.cwd,
});
export type Workflow = z.infer<typeof WorkflowSchema>;

/** The canonical text of a workflow: an identical re-apply is recognised by it. Pure. */
export function workflowKey(w: Workflow): string {
  return JSON.stringify(w, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A workflow was applied with changes: the full definition of its next version (from 1, no gaps). */
export const WorkflowAppliedSchema = eventSchema(
  'workflow.applied',
  1,
  z.object({ version: z.number().int().positive(), workflow: WorkflowSchema }),
);
/** No new runs fire while paused (runs already fired go on). */
export const WorkflowPausedSchema = eventSchema(
  'workflow.paused',
  1,
  z.object({ reason: z.string().max(1000).optional() }),
);
/** Fires again; the catch-up policy decides what was missed while paused. */
export const WorkflowResumedSchema = eventSchema('workflow.resumed', 1, z.object({}));

export const workflowEventSchemas = [
  WorkflowAppliedSchema,
  WorkflowPausedSchema,
  WorkflowResumedSchema,
] as const;

export type WorkflowEvent = z.infer<(typeof workflowEventSchemas)[number]>;
