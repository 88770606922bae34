import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, RunEvent, RunTrigger } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/** What the run decided about one task: its job once submitted, or why it will not run. */
export interface RunTaskRecord {
  readonly jobId?: string;
  readonly skipped?: 'skipped' | 'upstream_failed';
  readonly reason?: string;
}

/**
 * Context of the run machine: which workflow and calendar versions decided the run, its job, and
 * each task decided so far. The tasks' own progress is their jobs' (the job tree).
 */
export interface RunContext {
  readonly workflow?: string;
  readonly date?: string;
  readonly workflowVersion?: number;
  readonly calendarVersion?: number;
  readonly trigger?: RunTrigger;
  readonly fireAt?: number;
  readonly jobId?: string;
  readonly tasks: Readonly<Record<string, RunTaskRecord>>;
  readonly reason?: string;
  readonly createdAt?: number;
  readonly endedAt?: number;
}

type Guard = (args: { context: RunContext; event: RunEvent }) => boolean;
type TaskEvent = EventOf<'run.task_submitted'> | EventOf<'run.task_skipped'>;

const runGuards = {
  taskUndecided: ({ context, event }) =>
    (event.type === 'run.task_submitted' || event.type === 'run.task_skipped') &&
    !(event.data.task in context.tasks),
} satisfies Record<string, Guard>;

/** Words for every guard of the run machine. */
export const runGuardDocs = {
  taskUndecided: 'the task was neither submitted nor skipped in this run yet',
} as const satisfies Record<keyof typeof runGuards, string> & GuardDocs;

const runSetup = setup({
  types: { context: {} as RunContext, events: {} as RunEvent },
  guards: runGuards,
  actions: {
    recordScheduled: assign(({ event }) => {
      const d = (event as EventOf<'run.scheduled'>).data;
      return { ...d, tasks: {}, createdAt: event.at };
    }),
    recordTask: assign({
      tasks: ({ context, event }) => {
        const e = event as TaskEvent;
        const record: RunTaskRecord =
          e.type === 'run.task_submitted'
            ? { jobId: e.data.jobId }
            : { skipped: e.data.state, reason: e.data.reason };
        return { ...context.tasks, [e.data.task]: record };
      },
    }),
    recordEnd: assign({ endedAt: ({ event }) => event.at }),
    recordSkip: assign(({ event }) => ({
      endedAt: event.at,
      reason: (event as EventOf<'run.skipped'>).data.reason,
    })),
  },
});

const task = {
  'run.task_submitted': { target: 'running', guard: 'taskUndecided', actions: 'recordTask' },
  'run.task_skipped': { guard: 'taskUndecided', actions: 'recordTask' },
} as const;
const end = {
  'run.failed': { target: 'failed', actions: 'recordEnd' },
  'run.cancelled': { target: 'cancelled', actions: 'recordEnd' },
} as const;

/**
 * The run machine. Pure. `none` → `scheduled` by its one creating event (appended only where the
 * run has no event yet: a fire happens once); `running` from the first task submitted; each task
 * is decided once (submitted or skipped); the run ends `succeeded`, `failed`, `cancelled` or
 * `skipped` (nothing ran: overlap or catch-up policy, or every task skipped).
 */
export const runMachine = runSetup.createMachine({
  id: 'run',
  initial: 'none',
  context: { tasks: {} },
  states: {
    none: { on: { 'run.scheduled': { target: 'scheduled', actions: 'recordScheduled' } } },
    scheduled: {
      on: { ...task, ...end, 'run.skipped': { target: 'skipped', actions: 'recordSkip' } },
    },
    running: {
      on: {
        ...task,
        ...end,
        'run.task_submitted': { guard: 'taskUndecided', actions: 'recordTask' },
        'run.succeeded': { target: 'succeeded', actions: 'recordEnd' },
      },
    },
    succeeded: { tags: ['terminal'] },
    failed: { tags: ['terminal'] },
    cancelled: { tags: ['terminal'] },
    skipped: { tags: ['terminal'] },
  },
});

export type RunSnapshot = SnapshotFrom<typeof runMachine>;

/** The fold of run events (pure; throws `InvalidTransitionError` on a rejected event). */
export const runFold = createFold(runMachine, runGuardDocs);
