import { z } from 'zod';
import { eventSchema } from './envelope.js';

/**
 * The rules an alert can come from (CONTRACT "Operations"; `src/policy/alerts` evaluates them).
 * A closed list, so an alert's `rule` is always one the README documents.
 */
export const AlertRuleIdSchema = z.enum([
  'swapping',
  'node-lost',
  'queue-wait',
  'run-deadline',
  'broken-promise',
  'no-leader',
]);
export type AlertRuleId = z.infer<typeof AlertRuleIdSchema>;

const Summary = z.string().min(1).max(1000);
/** What the evaluator saw (numbers, node names, thresholds): JSON, shown by `drover alerts`. */
const Details = z.record(z.string().max(100), z.unknown());

/**
 * A rule's condition started to hold for `key` (a node, a run, a job, or `farm`): the alert is
 * pending until the condition has held for the rule's `for` duration.
 */
export const AlertOpenedSchema = eventSchema(
  'alert.opened',
  1,
  z.object({
    rule: AlertRuleIdSchema,
    key: z.string().min(1).max(200),
    summary: Summary,
    details: Details,
  }),
);
/** The condition held for the rule's `for`: the alert fires (and is notified). */
export const AlertFiredSchema = eventSchema(
  'alert.fired',
  1,
  z.object({ summary: Summary, details: Details }),
);
/** The condition was clear for the rule's `clearFor`: the alert resolved by itself. */
export const AlertResolvedSchema = eventSchema(
  'alert.resolved',
  1,
  z.object({ summary: Summary, details: Details }),
);
/** The condition cleared before the alert fired: nobody is told, the alert ends here. */
export const AlertWithdrawnSchema = eventSchema(
  'alert.withdrawn',
  1,
  z.object({ reason: z.string().max(1000) }),
);
/** A person saw it (`drover alerts ack`). Changes nothing about resolution. */
export const AlertAcknowledgedSchema = eventSchema(
  'alert.acknowledged',
  1,
  z.object({ note: z.string().max(1000).optional() }),
);

/**
 * One webhook delivery attempt of a firing or resolved alert (`notify` in alerts.yaml), as the
 * sender reported it: every delivery is an event, failures included.
 */
export const AlertNotifiedSchema = eventSchema(
  'alert.notified',
  1,
  z.object({
    event: z.enum(['firing', 'resolved']),
    url: z.string().min(1).max(2000),
    attempt: z.number().int().positive(),
    ok: z.boolean(),
    status: z.number().int().optional(),
    error: z.string().max(1000).optional(),
    /** Absent on a failed attempt: it was the last one (rejected or out of attempts). */
    retryInMs: z.number().int().nonnegative().optional(),
  }),
);

export const alertEventSchemas = [
  AlertOpenedSchema,
  AlertFiredSchema,
  AlertResolvedSchema,
  AlertWithdrawnSchema,
  AlertAcknowledgedSchema,
  AlertNotifiedSchema,
] as const;

export type AlertEvent = z.infer<(typeof alertEventSchemas)[number]>;
