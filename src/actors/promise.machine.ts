import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventData, PromiseEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/**
 * Context of the promise machine: what admission accepted (with the sequence that proves it,
 * set by the read model from the recorded event) and how it ended.
 */
export interface PromiseContext {
  readonly accepted?: EventData<'promise.accepted'>;
  readonly acceptedAt?: number;
  readonly kept?: EventData<'promise.kept'>;
  readonly brokenWhy?: string;
  /** Jobs stopped to keep it (each once, in order), and every victim attempt with its node. */
  readonly preempted?: readonly string[];
  readonly victims?: readonly (EventData<'promise.preempted'>['victims'][number] & {
    node: string;
  })[];
  readonly endedAt?: number;
}

type Guard = (args: { context: PromiseContext; event: PromiseEvent }) => boolean;

/** Named guards of the promise machine. Pure. */
const promiseGuards = {
  startedByStartBy: ({ context, event }) =>
    event.type === 'promise.kept' &&
    context.accepted !== undefined &&
    event.data.startedAt <= context.accepted.startBy,
} satisfies Record<string, Guard>;

/** Words for every guard of the promise machine. */
export const promiseGuardDocs = {
  startedByStartBy: 'the job started no later than its start-by',
} as const satisfies Record<keyof typeof promiseGuards, string> & GuardDocs;

const promiseSetup = setup({
  types: { context: {} as PromiseContext, events: {} as PromiseEvent },
  guards: promiseGuards,
  actions: {
    recordAccepted: assign(({ event }) =>
      event.type === 'promise.accepted' ? { accepted: event.data, acceptedAt: event.at } : {},
    ),
    recordKept: assign(({ event }) =>
      event.type === 'promise.kept' ? { kept: event.data, endedAt: event.at } : {},
    ),
    recordPreempted: assign(({ context, event }) => {
      if (event.type !== 'promise.preempted') return {};
      const jobs = [...(context.preempted ?? [])];
      for (const v of event.data.victims) if (!jobs.includes(v.jobId)) jobs.push(v.jobId);
      const victims = [
        ...(context.victims ?? []),
        ...event.data.victims.map((v) => ({ ...v, node: event.data.node })),
      ];
      return { preempted: jobs, victims };
    }),
    recordBroken: assign(({ event }) =>
      event.type === 'promise.broken' ? { brokenWhy: event.data.why, endedAt: event.at } : {},
    ),
  },
});

/**
 * The promise machine. Pure. `none` until admission accepts it, `pending` until the job starts
 * by its start-by (`kept`) or start-by passes without a start (`broken`); both are final: a
 * promise is judged once. Preemptions to keep it are recorded while it is pending.
 */
export const promiseMachine = promiseSetup.createMachine({
  id: 'promise',
  initial: 'none',
  context: {},
  states: {
    none: { on: { 'promise.accepted': { target: 'pending', actions: 'recordAccepted' } } },
    pending: {
      on: {
        'promise.kept': { target: 'kept', guard: 'startedByStartBy', actions: 'recordKept' },
        'promise.broken': { target: 'broken', actions: 'recordBroken' },
        'promise.preempted': { actions: 'recordPreempted' },
      },
    },
    kept: { type: 'final' },
    broken: { type: 'final' },
  },
});

/** A promise as folded from its events. */
export type PromiseSnapshot = SnapshotFrom<typeof promiseMachine>;

/** The fold of promise events (pure; throws `InvalidTransitionError` on a rejected event). */
export const promiseFold = createFold(promiseMachine, promiseGuardDocs);
