import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { Actor, EventOf, Runbook, RunbookEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/** What a run knows of one step: how it ended (once it did), its answer, its action's outcome. */
export interface RunbookStepRecord {
  readonly outcome?: 'done' | 'skipped' | 'timed_out';
  readonly answer?: string | boolean;
  /** Whether the step's action succeeded (undefined: not acted yet). */
  readonly acted?: boolean;
  readonly note?: string;
}

/**
 * Context of a runbook run: the procedure it follows (as it was when the run began), the
 * arguments, where it stands (`next` step to start, `current` step started and not completed)
 * and what each step did. Everything `drover runbook resume` needs to continue where it stopped.
 */
export interface RunbookContext {
  readonly definition?: Runbook;
  readonly args: Readonly<Record<string, string>>;
  readonly startedBy?: Actor;
  readonly startedAt?: number;
  readonly next: number;
  readonly current: number | null;
  readonly steps: readonly RunbookStepRecord[];
  readonly reason?: string;
  readonly endedAt?: number;
}

type Guard = (args: { context: RunbookContext; event: RunbookEvent }) => boolean;

const stepCount = (c: RunbookContext) => c.definition?.steps.length ?? 0;
const stepId = (c: RunbookContext, index: number) => c.definition?.steps[index]?.id;
const dataOf = (e: RunbookEvent) => e.data as { index: number; id: string };

/** Named guards of the runbook machine. Pure. */
const runbookGuards = {
  isNextStep: ({ context: c, event }) => {
    const { index, id } = dataOf(event);
    return c.current === null && index === c.next && stepId(c, index) === id;
  },
  isCurrentStep: ({ context: c, event }) => {
    const { index, id } = dataOf(event);
    return c.current === index && stepId(c, index) === id;
  },
  isCurrentStepNotActed: ({ context: c, event }) => {
    const { index, id } = dataOf(event);
    return c.current === index && stepId(c, index) === id && c.steps[index]?.acted !== true;
  },
  everyStepDone: ({ context: c, event }) =>
    event.type === 'runbook.finished' &&
    event.data.outcome === 'succeeded' &&
    c.current === null &&
    c.next === stepCount(c),
  isAbort: ({ event }) => event.type === 'runbook.finished' && event.data.outcome === 'aborted',
  isFailure: ({ event }) => event.type === 'runbook.finished' && event.data.outcome === 'failed',
} satisfies Record<string, Guard>;

/** Words for every guard of the runbook machine. */
export const runbookGuardDocs = {
  isNextStep: 'no step is in progress and data.index is the next step (data.id its id)',
  isCurrentStep: 'data.index is the step in progress (data.id its id)',
  isCurrentStepNotActed: 'data.index is the step in progress and it has not acted successfully',
  everyStepDone: "data.outcome is 'succeeded' and every step is completed",
  isAbort: "data.outcome is 'aborted'",
  isFailure: "data.outcome is 'failed'",
} as const satisfies Record<keyof typeof runbookGuards, string> & GuardDocs;

const patch = (c: RunbookContext, index: number, change: RunbookStepRecord): RunbookStepRecord[] =>
  c.steps.map((s, i) => (i === index ? { ...s, ...change } : s));

const runbookSetup = setup({
  types: { context: {} as RunbookContext, events: {} as RunbookEvent },
  guards: runbookGuards,
  actions: {
    recordStart: assign(({ event }) => {
      const e = event as EventOf<'runbook.started'>;
      return {
        definition: e.data.definition,
        args: e.data.args,
        startedBy: e.by,
        startedAt: e.at,
        next: 0,
        current: null,
        steps: e.data.definition.steps.map(() => ({})),
      };
    }),
    recordStepStart: assign(({ event }) => ({ current: dataOf(event).index })),
    recordAnswer: assign(({ context, event }) => {
      const e = event as EventOf<'runbook.answered'>;
      return { steps: patch(context, e.data.index, { answer: e.data.value }) };
    }),
    recordAction: assign(({ context, event }) => {
      const e = event as EventOf<'runbook.acted'>;
      return { steps: patch(context, e.data.index, { acted: e.data.ok }) };
    }),
    recordCompletion: assign(({ context, event }) => {
      const e = event as EventOf<'runbook.step_completed'>;
      const { index, outcome, note } = e.data;
      return {
        steps: patch(context, index, { outcome, ...(note !== undefined && { note }) }),
        next: index + 1,
        current: null,
      };
    }),
    recordEnd: assign(({ event }) => {
      const e = event as EventOf<'runbook.finished'>;
      return { reason: e.data.reason, endedAt: e.at };
    }),
  },
});

const finished = [
  { target: 'succeeded', guard: 'everyStepDone', actions: 'recordEnd' },
  { target: 'aborted', guard: 'isAbort', actions: 'recordEnd' },
  { target: 'failed', guard: 'isFailure', actions: 'recordEnd' },
] as const;

/**
 * The runbook machine. Pure. `none` until `runbook.started`; while `running`, steps go one at a
 * time in order: started (the next one only), answered and acted (the current one only; acted
 * again only after a failed action, so a resumed run retries, never repeats, a success),
 * completed. It ends `succeeded` only after its last step, or `aborted`/`failed` at any point.
 */
export const runbookMachine = runbookSetup.createMachine({
  id: 'runbook',
  initial: 'none',
  context: { args: {}, next: 0, current: null, steps: [] },
  states: {
    none: { on: { 'runbook.started': { target: 'running', actions: 'recordStart' } } },
    running: {
      on: {
        'runbook.step_started': { guard: 'isNextStep', actions: 'recordStepStart' },
        'runbook.answered': { guard: 'isCurrentStep', actions: 'recordAnswer' },
        'runbook.acted': { guard: 'isCurrentStepNotActed', actions: 'recordAction' },
        'runbook.step_completed': { guard: 'isCurrentStep', actions: 'recordCompletion' },
        'runbook.finished': finished,
      },
    },
    succeeded: {},
    aborted: {},
    failed: {},
  },
});

/** A runbook run as folded from its events. */
export type RunbookSnapshot = SnapshotFrom<typeof runbookMachine>;

/** The fold of runbook events (pure; throws `InvalidTransitionError` on a rejected event). */
export const runbookFold = createFold(runbookMachine, runbookGuardDocs);
