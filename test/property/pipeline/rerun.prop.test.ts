import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { Task } from '../../../src/events/index.js';
import { selectRerun, type TaskState } from '../../../src/policy/pipeline/index.js';

const STATES: readonly TaskState[] = [
  'undecided',
  'waiting',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'upstream_failed',
];

/**
 * A random DAG of 1-10 tasks: task i is `after` some tasks of lower rank, and the tasks are
 * declared in a shuffled order, so dependency order is not the file's order (a rerun must not
 * rely on it). With a state per task and an index into the tasks for `--task`.
 */
const caseArb = fc
  .integer({ min: 1, max: 10 })
  .chain((n) =>
    fc.record(
      {
        ups: fc.array(fc.uniqueArray(fc.nat(n - 1), { maxLength: 3 }), {
          minLength: n,
          maxLength: n,
        }),
        order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
        states: fc.array(fc.constantFrom(...STATES), { minLength: n, maxLength: n }),
        pick: fc.nat(n - 1),
      },
      { noNullPrototype: true },
    ),
  )
  .map((r) => {
    const tasks: Task[] = r.order.map((i) => ({
      id: `t${i}`,
      after: (r.ups[i] ?? []).filter((j) => j < i).map((j) => `t${j}`),
      trigger: 'all_success',
    }));
    const states = Object.fromEntries(r.states.map((s, i) => [`t${i}`, s]));
    return { workflow: { tasks }, states, pick: `t${r.pick}` };
  });

/** Reachability by brute force: every task whose `after` chain reaches `from` (not `from`). */
function below(tasks: readonly Task[], from: string): Set<string> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const reaches = (id: string): boolean =>
    (byId.get(id)?.after ?? []).some((u) => u === from || reaches(u));
  return new Set(tasks.filter((t) => reaches(t.id)).map((t) => t.id));
}

/** Every picked task comes after each task it depends on (transitively) among the picked. */
function expectDependencyOrder(tasks: readonly Task[], picked: readonly string[]): void {
  const at = new Map(picked.map((t, i) => [t, i]));
  for (const id of picked)
    for (const d of below(tasks, id))
      if (at.has(d)) expect(at.get(d)!, `${d} listed before ${id}`).toBeGreaterThan(at.get(id)!);
}

const isFailed = (s: TaskState | undefined) => s === 'failed' || s === 'upstream_failed';

describe('rerun selection (pure)', () => {
  test.prop([caseArb, fc.boolean()])(
    '--task picks exactly that task; with --downstream, plus exactly what is reachable from it',
    ({ workflow, states, pick }, downstream) => {
      const sel = selectRerun(workflow, states, { task: pick, downstream });
      expect(sel.ok).toBe(true);
      if (!sel.ok) return;
      const want = downstream ? new Set([pick, ...below(workflow.tasks, pick)]) : new Set([pick]);
      expect(new Set(sel.tasks)).toEqual(want);
      expect(sel.tasks.length, 'no task listed twice').toBe(want.size);
      // nothing upstream of the pick is cleared
      for (const t of sel.tasks) expect(below(workflow.tasks, t).has(pick)).toBe(false);
      expectDependencyOrder(workflow.tasks, sel.tasks);
    },
  );

  test.prop([caseArb, fc.boolean()])(
    '--failed picks exactly the failed and upstream_failed tasks (plus their downstream with --downstream), or refuses naming --failed',
    ({ workflow, states }, downstream) => {
      const sel = selectRerun(workflow, states, { failed: true, downstream });
      const failed = workflow.tasks.filter((t) => isFailed(states[t.id])).map((t) => t.id);
      if (failed.length === 0) {
        expect(sel).toMatchObject({ ok: false, field: 'failed' });
        return;
      }
      expect(sel.ok).toBe(true);
      if (!sel.ok) return;
      const want = new Set(failed);
      if (downstream) for (const f of failed) for (const d of below(workflow.tasks, f)) want.add(d);
      expect(new Set(sel.tasks)).toEqual(want);
      expect(sel.tasks.length).toBe(want.size);
      expectDependencyOrder(workflow.tasks, sel.tasks);
    },
  );

  test.prop([caseArb, fc.boolean()])(
    '--task with --failed picks that task only if it failed',
    ({ workflow, states, pick }, downstream) => {
      const sel = selectRerun(workflow, states, { task: pick, failed: true, downstream });
      if (!isFailed(states[pick])) {
        expect(sel).toMatchObject({ ok: false, field: 'failed' });
        return;
      }
      const want = downstream ? new Set([pick, ...below(workflow.tasks, pick)]) : new Set([pick]);
      expect(sel.ok && new Set(sel.tasks)).toEqual(want);
    },
  );

  test.prop([caseArb])('no flag picks every task, in dependency order', ({ workflow, states }) => {
    const sel = selectRerun(workflow, states, {});
    expect(sel.ok).toBe(true);
    if (!sel.ok) return;
    expect([...sel.tasks].sort()).toEqual(workflow.tasks.map((t) => t.id).sort());
    expectDependencyOrder(workflow.tasks, sel.tasks);
  });

  test.prop([caseArb])('an unknown --task is refused naming the field', ({ workflow, states }) => {
    expect(selectRerun(workflow, states, { task: 'no-such-task' })).toMatchObject({
      ok: false,
      field: 'task',
    });
  });
});
