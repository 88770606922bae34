import {
  WorkflowSchema,
  parseMemoryMb,
  type Calendar,
  type FieldIssue,
  type Workflow,
} from '../../events/index.js';
import { formatPath } from '../calendar/calendar-data.js';
import { scheduleProblem } from '../calendar/next-fires.js';

/** A workflow file's problems, or the workflow normalised (`mem` read into `memMb`). */
export type ParsedWorkflow =
  | { readonly ok: true; readonly workflow: Workflow }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** A stand-in calendar of the schedule's name, to check cron and `at` before the real one is read. */
const probeCalendar = (name: string): Calendar => ({
  name,
  timezone: 'UTC',
  open: '09:30',
  close: '16:00',
  weekdays: [1, 2, 3, 4, 5],
  holidays: [],
  earlyCloses: [],
  lateOpens: [],
});

/** Task ids in an order where every task comes after its `after` tasks, or the ids on a cycle. */
export function topoOrder(w: Pick<Workflow, 'tasks'>): { order: string[] } | { cycle: string[] } {
  const after = new Map(w.tasks.map((t) => [t.id, t.after]));
  const order: string[] = [];
  const mark = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (mark.get(id) === 'done') return undefined;
    if (mark.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    mark.set(id, 'visiting');
    for (const up of after.get(id) ?? []) {
      const cycle = visit(up, [...path, id]);
      if (cycle) return cycle;
    }
    mark.set(id, 'done');
    order.push(id);
    return undefined;
  };
  for (const t of w.tasks) {
    const cycle = visit(t.id, []);
    if (cycle) return { cycle };
  }
  return { order };
}

/**
 * The rules one field cannot state alone, each named by its path. Pure.
 * - task ids are unique; `after` names other tasks of the workflow, with no cycle;
 * - `mem` is a size (`4G`), and not given together with `memMb`;
 * - the schedule can fire (cron or `at`, valid; `open±Nm` needs a calendar); start ≤ end.
 */
export function workflowProblems(w: Workflow): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ path: formatPath(path), message });
  const ids = new Set<string>();
  w.tasks.forEach((t, i) => {
    if (ids.has(t.id)) add(['tasks', i, 'id'], `${t.id} appears twice`);
    ids.add(t.id);
    if (t.mem !== undefined && t.memMb !== undefined) add(['tasks', i, 'mem'], 'give mem or memMb');
    if (t.mem !== undefined && parseMemoryMb(t.mem) === undefined)
      add(['tasks', i, 'mem'], `expected a size like 512M or 4G, got ${JSON.stringify(t.mem)}`);
  });
  w.tasks.forEach((t, i) =>
    t.after.forEach((up, j) => {
      if (up === t.id) add(['tasks', i, 'after', j], 'a task cannot come after itself');
      else if (!ids.has(up)) add(['tasks', i, 'after', j], `no task ${up} in this workflow`);
    }),
  );
  if (!issues.length) {
    const topo = topoOrder(w);
    if ('cycle' in topo) add(['tasks'], `after: cycle ${topo.cycle.join(' → ')}`);
  }
  const s = w.schedule;
  if (s) {
    const cal =
      s.calendar !== undefined ? { version: 1, calendar: probeCalendar(s.calendar) } : undefined;
    const problem = scheduleProblem(s, cal);
    if (problem) {
      const field = /^(cron|at|timezone|calendar)\b/.exec(problem)?.[1];
      add(
        field ? ['schedule', field] : ['schedule'],
        problem.replace(/^(cron|at|timezone|calendar): /, ''),
      );
    }
    if (s.start !== undefined && s.end !== undefined && s.start > s.end)
      add(['schedule', 'end'], `must not be before start ${s.start}`);
  }
  return issues;
}

/** The workflow with `mem` read into `memMb` (after `workflowProblems` passed). Pure. */
function normalizeWorkflow(w: Workflow): Workflow {
  return {
    ...w,
    tasks: w.tasks.map(({ mem, ...t }) =>
      mem === undefined ? t : { ...t, memMb: parseMemoryMb(mem) as number },
    ),
  };
}

/**
 * Validate a workflow as read from a file (YAML or JSON, already parsed): every problem named by
 * its path (`tasks[2].after[0]: no task load in this workflow`), or the workflow normalised. Pure.
 */
export function parseWorkflow(input: unknown): ParsedWorkflow {
  const parsed = WorkflowSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: formatPath(i.path),
      message: i.message,
    }));
    return { ok: false, issues };
  }
  const problems = workflowProblems(parsed.data);
  if (problems.length) return { ok: false, issues: problems };
  return { ok: true, workflow: normalizeWorkflow(parsed.data) };
}
