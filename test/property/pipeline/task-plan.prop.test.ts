import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decideRun, runFold, stateName, type RunCommand } from '../../../src/actors/index.js';
import { conditionHolds, planRun, type TaskState } from '../../../src/policy/pipeline/index.js';
import { workflowArb } from '../../support/pipeline-arbitraries.js';

const DATE = '2016-03-26'; // a Saturday: trading_day and weekday:3 are false, not_trading_day true
const outcomesArb = fc.array(fc.constantFrom('succeeded', 'failed' as const), {
  minLength: 8,
  maxLength: 8,
});

describe('a run plan (pure)', () => {
  test.prop([workflowArb, outcomesArb])(
    'every task is decided once, never before its rule allows, and a false condition skips exactly what is only downstream',
    (workflow, outcomes) => {
      const states: Record<string, TaskState> = {};
      const decisions = new Map<string, number>();
      const upstreamAtSubmit = new Map<string, TaskState[]>();
      for (let round = 0; round < 20; round++) {
        const steps = planRun({
          run: 'w@d',
          workflow,
          date: DATE,
          zone: 'UTC',
          now: Date.UTC(2017, 0, 1),
          tasks: states,
        });
        if (!steps.length) break;
        for (const s of steps) {
          decisions.set(s.task, (decisions.get(s.task) ?? 0) + (s.kind === 'release' ? 0 : 1));
          const i = Number(s.task.slice(1));
          if (s.kind === 'skip') states[s.task] = s.state;
          else {
            const t = workflow.tasks[i]!;
            upstreamAtSubmit.set(
              s.task,
              t.after.map((u) => states[u] ?? 'undecided'),
            );
            states[s.task] = outcomes[i] ?? 'succeeded';
          }
        }
      }
      for (const t of workflow.tasks) {
        expect(decisions.get(t.id), `${t.id} decided once`).toBe(1);
        const up = t.after.map((u) => states[u]!);
        const at = upstreamAtSubmit.get(t.id);
        if (at) {
          expect(conditionHolds(t.when, DATE), `${t.id} ran with a false condition`).toBe(true);
          const done = at.every((s) => s !== 'undecided');
          const anyFailed = at.some((s) => s === 'failed' || s === 'upstream_failed');
          expect(done || (t.trigger === 'one_failed' && anyFailed), `${t.id} ran early`).toBe(true);
        }
        if (up.length && up.every((s) => s === 'skipped')) expect(states[t.id]).toBe('skipped');
        if (!up.length && !conditionHolds(t.when, DATE)) expect(states[t.id]).toBe('skipped');
      }
    },
  );
});

const runCommandArb: fc.Arbitrary<RunCommand> = fc
  .tuple(
    fc.constantFrom(
      'ScheduleRun',
      'SubmitTask',
      'SkipTask',
      'SucceedRun',
      'FailRun',
      'CancelRun',
      'SkipRun',
    ),
    fc.constantFrom('a', 'b', 'c'),
    fc.nat(1000),
  )
  .map(([type, task, n]) => {
    const meta = {
      id: `c${n}-${type}-${task}`,
      at: n,
      by: { kind: 'scheduler' as const, id: 's' },
    };
    switch (type) {
      case 'ScheduleRun':
        return {
          type,
          ...meta,
          data: {
            workflow: 'w',
            date: '2016-03-24',
            workflowVersion: 1,
            trigger: 'schedule' as const,
            fireAt: n,
            jobId: 'w_2016-03-24',
          },
        };
      case 'SubmitTask':
        return { type, ...meta, data: { task, jobId: `j-${task}` } };
      case 'SkipTask':
        return { type, ...meta, data: { task, state: 'skipped' as const, reason: 'x' } };
      case 'FailRun':
        return { type, ...meta, data: { tasks: [task] } };
      case 'SkipRun':
        return { type, ...meta, data: { reason: 'x' } };
      default:
        return { type: type as 'SucceedRun', ...meta };
    }
  });

describe('the run machine', () => {
  test.prop([fc.array(runCommandArb, { maxLength: 30 })])(
    'random commands never yield an event the machine rejects; a task is decided once; a terminal run stays',
    (commands) => {
      let state = runFold.initial();
      let ended: string | undefined;
      for (const c of commands) {
        const d = decideRun(state, c);
        if (!d.ok) continue;
        for (const e of d.events) state = runFold.evolve(state, e); // throws if the machine rejects it
        if (ended) expect(stateName(state)).toBe(ended);
        if (['succeeded', 'failed', 'cancelled', 'skipped'].includes(stateName(state)))
          ended = stateName(state);
      }
      const decided = Object.keys(state.context.tasks);
      expect(new Set(decided).size).toBe(decided.length);
    },
  );
});
