import {
  RunbookSchema,
  type FieldIssue,
  type Runbook,
  type RunbookStep,
} from '../../events/index.js';
import { formatPath } from '../calendar/index.js';
import { variablesOf } from './templates.js';

/** A runbook file's problems (each named by its path), or the runbook with defaults filled in. */
export type ParsedRunbook =
  | { readonly ok: true; readonly runbook: Runbook }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** The templates of a step, with their paths inside the step. Pure. */
function templatesOf(step: RunbookStep): [string[], string][] {
  const out: [string[], string][] = [];
  const add = (path: string[], t: string | undefined) => t !== undefined && out.push([path, t]);
  const query = (at: string[], q: { of?: string } | undefined) => add([...at, 'of'], q?.of);
  const condition = (at: string[], c: { node?: string; job?: string } | undefined) => {
    add([...at, 'node'], c?.node);
    add([...at, 'job'], c?.job);
  };
  switch (step.kind) {
    case 'show':
      query([], step);
      break;
    case 'ask':
      add(['question'], step.question);
      break;
    case 'confirm':
      add(['question'], step.question);
      query(['show'], step.show);
      break;
    case 'act':
      add(['target'], step.target);
      add(['reason'], step.reason);
      query(['preview'], step.preview);
      condition(['when'], step.when);
      break;
    case 'wait':
      condition(['until'], step.until);
      break;
    default: {
      const _exhaustive: never = step;
      return _exhaustive;
    }
  }
  return out;
}

const compiles = (pattern: string): boolean => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

/** Whether `value` is entirely matched by `pattern`. Pure. */
export function matchesPattern(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(value);
}

type Condition = { node?: string; job?: string; state?: string[]; idle?: true; clearable?: true };

function conditionProblems(c: Condition | undefined): string | undefined {
  if (!c) return undefined;
  if ((c.node === undefined) === (c.job === undefined)) return 'name exactly one of node or job';
  if (c.idle && c.node === undefined) return 'idle is for a node';
  if (c.clearable && c.job === undefined) return 'clearable is for a job';
  if (!c.state && !c.idle && !c.clearable) return 'say what must hold: state, idle or clearable';
  return undefined;
}

/**
 * The rules one field cannot state alone, each named by its path. Pure.
 * - argument names and step ids are distinct (an answer is a variable like an argument);
 * - every `{{name}}` is an argument or the answer of an earlier `ask` step;
 * - patterns compile, and defaults match them;
 * - a query other than `nodes` names what it asks about; a condition names one node or job.
 */
export function runbookProblems(r: Runbook): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ path: formatPath(path), message });
  const known = new Set<string>();
  const pattern = (at: PropertyKey[], p?: string, value?: string) => {
    if (p === undefined) return;
    if (!compiles(p)) add([...at, 'pattern'], 'not a regular expression');
    else if (value !== undefined && !matchesPattern(p, value))
      add([...at, 'default'], `does not match the pattern ${p}`);
  };
  r.args.forEach((a, i) => {
    if (known.has(a.name)) add(['args', i, 'name'], `${a.name} appears twice`);
    known.add(a.name);
    pattern(['args', i], a.pattern, a.default);
  });
  const ids = new Set<string>();
  r.steps.forEach((step, i) => {
    const at = ['steps', i];
    if (ids.has(step.id) || r.args.some((a) => a.name === step.id))
      add([...at, 'id'], `${step.id} is already a step id or an argument`);
    ids.add(step.id);
    for (const [path, t] of templatesOf(step)) {
      for (const name of variablesOf(t))
        if (!known.has(name))
          add([...at, ...path], `{{${name}}} is neither an argument nor an earlier answer`);
    }
    if (step.kind === 'ask') pattern(at, step.pattern, step.default);
    const queries = [
      [at, step.kind === 'show' ? step : undefined],
      [[...at, 'show'], step.kind === 'confirm' ? step.show : undefined],
      [[...at, 'preview'], step.kind === 'act' ? step.preview : undefined],
    ] as const;
    for (const [qAt, q] of queries)
      if (q && q.query !== 'nodes' && q.of === undefined)
        add([...qAt, 'of'], `the ${q.query} query needs the job or node it is about`);
    const cond =
      step.kind === 'act'
        ? ['when', step.when]
        : step.kind === 'wait'
          ? ['until', step.until]
          : undefined;
    const why = cond && conditionProblems(cond[1] as Condition | undefined);
    if (cond && why) add([...at, cond[0] as string], why);
    if (step.kind === 'ask') known.add(step.id);
  });
  return issues;
}

/**
 * Validate a runbook file's content (YAML or JSON already parsed): the schema's problems, then
 * the cross-field ones, every one named by its path (`steps[2].timeout: a duration...`). Pure.
 */
export function parseRunbook(input: unknown): ParsedRunbook {
  const parsed = RunbookSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: formatPath(i.path),
      message: i.message,
    }));
    return { ok: false, issues };
  }
  const problems = runbookProblems(parsed.data);
  return problems.length ? { ok: false, issues: problems } : { ok: true, runbook: parsed.data };
}
