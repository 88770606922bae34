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
  /** When the run first ended (a rerun does not move it): its deadline is judged on it. */
  readonly firstEndedAt?: number;
  /** How many reruns were asked for (`run.rerun_requested`). */
  readonly reruns?: number;
  /**
   * Each notification's delivery (`<key> <url>`): still `trying`, `delivered` or `failed`, and
   * the attempts recorded (a sender restarted after a crash numbers its attempts on from there).
   */
  readonly notified?: Readonly<Record<string, NotificationRecord>>;
}

/** Where one notification's delivery to one URL stands. */
export interface NotificationRecord {
  readonly status: 'trying' | 'delivered' | 'failed';
  readonly attempts: number;
}

type Guard = (args: { context: RunContext; event: RunEvent }) => boolean;
type TaskEvent = EventOf<'run.task_submitted'> | EventOf<'run.task_skipped'>;

const runGuards = {
  taskUndecided: ({ context, event }) =>
    (event.type === 'run.task_submitted' || event.type === 'run.task_skipped') &&
    !(event.data.task in context.tasks),
  rerunIsNext: ({ context, event }) =>
    event.type === 'run.rerun_requested' && event.data.rerun === (context.reruns ?? 0) + 1,
} satisfies Record<string, Guard>;

/** Words for every guard of the run machine. */
export const runGuardDocs = {
  taskUndecided: 'the task was neither submitted nor skipped in this run yet',
  rerunIsNext: 'the rerun number is the one after the last rerun of this run',
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
    recordEnd: assign(({ context, event }) => ({
      endedAt: event.at,
      firstEndedAt: context.firstEndedAt ?? event.at,
    })),
    recordRerun: assign(({ context, event }) => {
      const d = (event as EventOf<'run.rerun_requested'>).data;
      const again = new Set(d.tasks.map((t) => t.task));
      const tasks = Object.fromEntries(
        Object.entries(context.tasks).filter(([t]) => !again.has(t)),
      );
      return { tasks, jobId: d.jobId, reruns: d.rerun, endedAt: undefined };
    }),
    recordNotified: assign(({ context, event }) => {
      const d = (event as EventOf<'run.notified'>).data;
      const status: NotificationRecord['status'] = d.ok
        ? 'delivered'
        : d.retryInMs !== undefined
          ? 'trying'
          : 'failed';
      const key = `${d.key} ${d.url}`;
      const attempts = Math.max(context.notified?.[key]?.attempts ?? 0, d.attempt);
      return { notified: { ...context.notified, [key]: { status, attempts } } };
    }),
    recordSkip: assign(({ context, event }) => ({
      endedAt: event.at,
      firstEndedAt: context.firstEndedAt ?? event.at,
      reason: (event as EventOf<'run.skipped'>).data.reason,
    })),
  },
});

const task = {
  'run.task_submitted': { target: 'running', guard: 'taskUndecided', actions: 'recordTask' },
  'run.task_skipped': { guard: 'taskUndecided', actions: 'recordTask' },
} as const;
const notified = { 'run.notified': { actions: 'recordNotified' } } as const;
/** An ended run whose tasks may run again (a skipped run ran nothing to run again). */
const rerun = {
  'run.rerun_requested': { target: 'running', guard: 'rerunIsNext', actions: 'recordRerun' },
} as const;
const end = {
  'run.failed': { target: 'failed', actions: 'recordEnd' },
  'run.cancelled': { target: 'cancelled', actions: 'recordEnd' },
} as const;

/**
 * The run machine. Pure. `none` → `scheduled` by its one creating event (appended only where the
 * run has no event yet: a fire happens once); `running` from the first task submitted; each task
 * is decided once (submitted or skipped); the run ends `succeeded`, `failed`, `cancelled` or
 * `skipped` (nothing ran: overlap or catch-up policy, or every task skipped). An ended run that
 * ran something is `running` again on `run.rerun_requested` (its listed tasks undecided, its new
 * job); every notification attempt is recorded on the run (`run.notified`) in any state.
 */
export const runMachine = runSetup.createMachine({
  id: 'run',
  initial: 'none',
  context: { tasks: {} },
  states: {
    none: { on: { 'run.scheduled': { target: 'scheduled', actions: 'recordScheduled' } } },
    scheduled: {
      on: {
        ...task,
        ...end,
        ...notified,
        'run.skipped': { target: 'skipped', actions: 'recordSkip' },
      },
    },
    running: {
      on: {
        ...task,
        ...notified,
        ...end,
        'run.task_submitted': { guard: 'taskUndecided', actions: 'recordTask' },
        'run.succeeded': { target: 'succeeded', actions: 'recordEnd' },
      },
    },
    succeeded: { tags: ['terminal'], on: { ...notified, ...rerun } },
    failed: { tags: ['terminal'], on: { ...notified, ...rerun } },
    cancelled: { tags: ['terminal'], on: { ...notified, ...rerun } },
    skipped: { tags: ['terminal'], on: notified },
  },
});

export type RunSnapshot = SnapshotFrom<typeof runMachine>;

/** The fold of run events (pure; throws `InvalidTransitionError` on a rejected event). */
export const runFold = createFold(runMachine, runGuardDocs);
