import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { Workflow, WorkflowEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/**
 * Context of the workflow machine: every applied version, oldest first (`versions[n - 1]` is
 * version n), with when it was applied and by whom. Versions are never dropped: a run records
 * the version it ran, and that version stays readable.
 */
export interface WorkflowContext {
  readonly versions: readonly Workflow[];
  /** `at` of each version's `workflow.applied` (the first is when the schedule began). */
  readonly appliedAt: readonly number[];
  /** Who applied each version: the tasks' jobs run as the latest one's author. */
  readonly appliedBy: readonly string[];
  readonly pauseReason?: string;
}

type Guard = (args: { context: WorkflowContext; event: WorkflowEvent }) => boolean;

const workflowGuards = {
  isNextVersion: ({ context, event }) =>
    event.type === 'workflow.applied' && event.data.version === context.versions.length + 1,
} satisfies Record<string, Guard>;

/** Words for every guard of the workflow machine. */
export const workflowGuardDocs = {
  isNextVersion: 'data.version is the number of versions so far + 1 (no gaps, no rewrites)',
} as const satisfies Record<keyof typeof workflowGuards, string> & GuardDocs;

const workflowSetup = setup({
  types: { context: {} as WorkflowContext, events: {} as WorkflowEvent },
  guards: workflowGuards,
  actions: {
    recordVersion: assign(({ context, event }) => {
      const e = event as Extract<WorkflowEvent, { type: 'workflow.applied' }>;
      return {
        versions: [...context.versions, e.data.workflow],
        appliedAt: [...context.appliedAt, e.at],
        appliedBy: [...context.appliedBy, e.by.id],
      };
    }),
    recordPause: assign({
      pauseReason: ({ event }) =>
        (event as Extract<WorkflowEvent, { type: 'workflow.paused' }>).data.reason ?? '',
    }),
    recordResume: assign({ pauseReason: undefined }),
  },
});

const applied = { guard: 'isNextVersion', actions: 'recordVersion' } as const;

/**
 * The workflow machine. Pure. `none` until the first apply; `active` fires runs, `paused` does
 * not (runs already fired go on). A new version may be applied in either; an identical re-apply
 * is decided away before it reaches the machine (`decideWorkflow`).
 */
export const workflowMachine = workflowSetup.createMachine({
  id: 'workflow',
  initial: 'none',
  context: { versions: [], appliedAt: [], appliedBy: [] },
  states: {
    none: { on: { 'workflow.applied': { ...applied, target: 'active' } } },
    active: {
      on: {
        'workflow.applied': applied,
        'workflow.paused': { target: 'paused', actions: 'recordPause' },
      },
    },
    paused: {
      on: {
        'workflow.applied': applied,
        'workflow.resumed': { target: 'active', actions: 'recordResume' },
      },
    },
  },
});

export type WorkflowSnapshot = SnapshotFrom<typeof workflowMachine>;

/** The fold of workflow events (pure; throws `InvalidTransitionError` on a rejected event). */
export const workflowFold = createFold(workflowMachine, workflowGuardDocs);
