import { z } from 'zod';
import { eventSchema } from './envelope.js';

/**
 * Runbooks (issue 20): procedures as data, and the events of one run of a procedure. Pure.
 *
 * A runbook is a list of steps of five kinds: `show` a query's result, `ask` a person for a value
 * (default, validation), `confirm` with a person (a hand-over: "do this by hand, then say so"),
 * `act` through the API (optionally `dangerous`: its plan is shown and confirmed first), `wait`
 * until a condition holds (timeout, and what to do then). Values are strings; `{{name}}` in a
 * template is an argument of the run or the answer of an earlier `ask` step (checked when the
 * file is read: `runbookProblems`).
 */

const Name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/i, 'letters, digits, "_" and "-", starting with a letter');
const VarName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/i, 'letters, digits and "_", starting with a letter');
const Text = z.string().min(1).max(2000);
/** Text that may name variables: `drain {{node}}`. */
const Template = z.string().min(1).max(2000);
/** A duration as people write it: `500ms`, `30s`, `10m`, `2h`. */
export const DurationSchema = z.string().regex(/^\d{1,7}(ms|s|m|h)$/, 'a duration: 30s, 10m, 1h');

/** What a `show` step (or a plan shown before a dangerous act) can ask of the API. */
export const RUNBOOK_QUERIES = [
  'job',
  'node',
  'nodes',
  'cancel-plan',
  'clear-plan',
  'explain',
] as const;
/** The operations an `act` step can perform: the CLI's own, with the runner's role. */
export const RUNBOOK_OPS = [
  'node.drain',
  'node.undrain',
  'node.cordon',
  'node.uncordon',
  'cancel',
  'clear',
] as const;
export type RunbookOp = (typeof RUNBOOK_OPS)[number];
export type RunbookQueryName = (typeof RUNBOOK_QUERIES)[number];

export const RunbookQuerySchema = z.strictObject({
  query: z.enum(RUNBOOK_QUERIES),
  /** The job or node asked about (every query but `nodes` needs one). */
  of: Template.optional(),
});
export type RunbookQuery = z.infer<typeof RunbookQuerySchema>;

/**
 * A condition on one node or one job, read through the API: its state is one of `state`; a node
 * is `idle` (no worker, nothing used); a job is `clearable` (clear's plan has no blocker: every
 * descendant ended and every process confirmed stopped).
 */
export const RunbookConditionSchema = z.strictObject({
  node: Template.optional(),
  job: Template.optional(),
  state: z.array(z.string().min(1).max(32)).min(1).max(10).optional(),
  idle: z.literal(true).optional(),
  clearable: z.literal(true).optional(),
});
export type RunbookCondition = z.infer<typeof RunbookConditionSchema>;

const StepBase = { id: VarName, title: Text.optional() };

export const RunbookStepSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('show'), ...StepBase, ...RunbookQuerySchema.shape }),
  z.strictObject({
    kind: z.literal('ask'),
    ...StepBase,
    question: Template,
    default: z.string().max(2000).optional(),
    /** A regular expression the whole answer must match. */
    pattern: z.string().min(1).max(500).optional(),
  }),
  z.strictObject({
    kind: z.literal('confirm'),
    ...StepBase,
    question: Template,
    /** Shown before the question. */
    show: RunbookQuerySchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('act'),
    ...StepBase,
    op: z.enum(RUNBOOK_OPS),
    /** The node or job acted on. */
    target: Template,
    reason: Template.optional(),
    /** Show exactly what it will do and ask first (refused without a terminal unless --yes). */
    dangerous: z.boolean().default(false),
    /** The plan shown before a dangerous act (`cancel-plan`, `node`, ...). */
    preview: RunbookQuerySchema.optional(),
    /** Act only when this holds; otherwise the step is recorded as skipped, with why. */
    when: RunbookConditionSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('wait'),
    ...StepBase,
    until: RunbookConditionSchema,
    timeout: DurationSchema,
    every: DurationSchema.default('1s'),
    /** At the timeout: stop the run, go on anyway, or ask a person which. */
    onTimeout: z.enum(['abort', 'continue', 'ask']).default('abort'),
  }),
]);
export type RunbookStep = z.infer<typeof RunbookStepSchema>;
export type RunbookStepKind = RunbookStep['kind'];

export const RunbookArgSchema = z.strictObject({
  name: VarName,
  description: Text.optional(),
  default: z.string().max(2000).optional(),
  pattern: z.string().min(1).max(500).optional(),
});
export type RunbookArg = z.infer<typeof RunbookArgSchema>;

/** A runbook file (YAML or JSON), every default filled in. */
export const RunbookSchema = z.strictObject({
  name: Name,
  summary: Text,
  description: z.string().max(10_000).optional(),
  args: z.array(RunbookArgSchema).max(50).default([]),
  steps: z.array(RunbookStepSchema).min(1).max(200),
});
export type Runbook = z.infer<typeof RunbookSchema>;

const Index = z.number().int().nonnegative().max(1000);
const Value = z.string().max(4000);

/**
 * A run of a runbook began: the whole definition as it was read (a resumed run follows the
 * procedure it started with, even if the file changed since) and the arguments given.
 */
export const RunbookStartedSchema = eventSchema(
  'runbook.started',
  1,
  z.object({ definition: RunbookSchema, args: z.record(VarName, Value) }),
);
/** Step `index` began (its id repeated, so the audit reads without the definition). */
export const RunbookStepStartedSchema = eventSchema(
  'runbook.step_started',
  1,
  z.object({ index: Index, id: VarName }),
);
/**
 * A person (or a flag standing in for one) answered step `index`: a value for `ask`, yes/no for
 * `confirm` and dangerous `act` steps. `how` says whether it came from the terminal, a flag
 * (`--yes`, `--arg`) or the step's default.
 */
export const RunbookAnsweredSchema = eventSchema(
  'runbook.answered',
  1,
  z.object({
    index: Index,
    id: VarName,
    value: z.union([Value, z.boolean()]),
    how: z.enum(['terminal', 'flag', 'default']),
  }),
);
/** Step `index` acted through the API: the operation, its target, and what came of it. */
export const RunbookActedSchema = eventSchema(
  'runbook.acted',
  1,
  z.object({
    index: Index,
    id: VarName,
    op: z.enum(RUNBOOK_OPS),
    target: Value,
    ok: z.boolean(),
    result: z.string().max(4000).optional(),
    error: z.object({ code: z.string().max(64), message: z.string().max(4000) }).optional(),
  }),
);
/** Step `index` is over: done, skipped (its `when` did not hold) or timed out (and went on). */
export const RunbookStepCompletedSchema = eventSchema(
  'runbook.step_completed',
  1,
  z.object({
    index: Index,
    id: VarName,
    outcome: z.enum(['done', 'skipped', 'timed_out']),
    note: z.string().max(4000).optional(),
  }),
);
/** The run ended: every step done, stopped by a person's no, or failed (a wait that timed out). */
export const RunbookFinishedSchema = eventSchema(
  'runbook.finished',
  1,
  z.object({
    outcome: z.enum(['succeeded', 'aborted', 'failed']),
    reason: z.string().max(4000),
  }),
);

export const runbookEventSchemas = [
  RunbookStartedSchema,
  RunbookStepStartedSchema,
  RunbookAnsweredSchema,
  RunbookActedSchema,
  RunbookStepCompletedSchema,
  RunbookFinishedSchema,
] as const;

export type RunbookEvent = z.infer<(typeof runbookEventSchemas)[number]>;
