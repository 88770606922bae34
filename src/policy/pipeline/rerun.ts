import type { Workflow } from '../../events/index.js';
import type { TaskState } from './task-plan.js';
import { topoOrder } from './workflow-data.js';

/** What `drover rerun` was asked for (CONTRACT "Workflows and schedules"). */
export interface RerunAsk {
  /** Only this task (and, with `downstream`, what is downstream of it). */
  readonly task?: string;
  /** Add every task downstream of the picked ones, in the workflow version the run ran. */
  readonly downstream?: boolean;
  /** Pick only the tasks that failed or could not run for a failure. */
  readonly failed?: boolean;
}

/** The tasks a rerun picks, in dependency order, or why it picks none (the field named). */
export type RerunSelection =
  | { readonly ok: true; readonly tasks: readonly string[] }
  | { readonly ok: false; readonly field: string; readonly message: string };

const FAILED: ReadonlySet<TaskState> = new Set(['failed', 'upstream_failed']);

/**
 * Every task downstream of `from` (reached through `after`), `from` excluded. Pure.
 * @example downstreamOf(w, ['extract']) // ['load', 'report'] when load is after extract, ...
 */
export function downstreamOf(w: Pick<Workflow, 'tasks'>, from: Iterable<string>): Set<string> {
  const below = new Map<string, string[]>();
  for (const t of w.tasks)
    for (const up of t.after) below.set(up, [...(below.get(up) ?? []), t.id]);
  const out = new Set<string>();
  const todo = [...from];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    for (const d of below.get(id) ?? []) {
      if (out.has(d)) continue;
      out.add(d);
      todo.push(d);
    }
  }
  for (const f of from) out.delete(f);
  return out;
}

/**
 * The task instances a rerun clears and runs again. Pure. The base is `task` (one task) or every
 * task of the run; `failed` keeps those `failed` or `upstream_failed`; `downstream` adds every
 * task downstream of what is left, whatever its state (it ran on the old output). The answer is
 * in the workflow's dependency order, so the listing reads as the run will; an empty pick is an
 * error naming the flag that emptied it, never a rerun of nothing.
 */
export function selectRerun(
  w: Pick<Workflow, 'tasks'>,
  states: Readonly<Record<string, TaskState>>,
  ask: RerunAsk,
): RerunSelection {
  const ids = w.tasks.map((t) => t.id);
  if (ask.task !== undefined && !ids.includes(ask.task))
    return {
      ok: false,
      field: 'task',
      message: `--task ${ask.task}: no such task in the run's workflow version (${ids.join(', ')})`,
    };
  let picked = ask.task !== undefined ? [ask.task] : ids;
  if (ask.failed) picked = picked.filter((t) => FAILED.has(states[t] ?? 'undecided'));
  if (ask.failed && picked.length === 0)
    return {
      ok: false,
      field: 'failed',
      message: `--failed: no task ${ask.task !== undefined ? `${ask.task} ` : ''}failed in this run`,
    };
  const chosen = new Set(picked);
  if (ask.downstream) for (const d of downstreamOf(w, picked)) chosen.add(d);
  const topo = topoOrder(w);
  const order = 'order' in topo ? topo.order : ids;
  return { ok: true, tasks: order.filter((t) => chosen.has(t)) };
}
