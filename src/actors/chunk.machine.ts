import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { ChunkEvent, EventOf, FailureCause, Resources } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/** One attempt of a chunk: where it ran and, once ended, how. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly node: string;
  readonly worker: string;
  readonly cause?: FailureCause;
  readonly exitCode?: number;
  readonly signal?: string;
}

/** Context of the chunk machine. */
export interface ChunkContext {
  readonly jobId: string;
  readonly index: number;
  readonly total: number;
  /** The current attempt (0 before the first): the fencing token every report must carry. */
  readonly attempt: number;
  readonly node?: string;
  readonly worker?: string;
  readonly request?: Resources;
  readonly checkpoint?: string;
  readonly progress?: number;
  readonly result?: unknown;
  readonly resultsCleared: boolean;
  /** Attempts whose process was not confirmed stopped (lost with its node, say). */
  readonly unconfirmed: readonly number[];
  /** Why the chunk failed for good (`chunk.failed`). */
  readonly failure?: EventOf<'chunk.failed'>['data'];
  /** The retry policy's verdict on the last failed attempt (cleared by the next assignment). */
  readonly retry?: EventOf<'chunk.retry_scheduled'>['data'];
  /** Every attempt, oldest first (node avoidance, `drover show`). */
  readonly attempts: readonly AttemptRecord[];
}

type Guard = (args: { context: ChunkContext; event: ChunkEvent }) => boolean;
type Ended = Pick<AttemptRecord, 'cause' | 'exitCode' | 'signal'>;

/** The attempt named by a report, if it carries one. */
const attemptOf = (event: ChunkEvent): number | undefined =>
  'attempt' in event.data ? event.data.attempt : undefined;

/** Close the current attempt's record with how it ended. */
function endAttempt(c: ChunkContext, ended: Ended): readonly AttemptRecord[] {
  return c.attempts.map((a) => (a.attempt === c.attempt ? { ...a, ...ended } : a));
}

const withUnconfirmed = (c: ChunkContext, confirmed: boolean) =>
  confirmed || c.unconfirmed.includes(c.attempt) ? c.unconfirmed : [...c.unconfirmed, c.attempt];

/** Named guards of the chunk machine. Pure. */
const chunkGuards = {
  opensNextAttempt: ({ context, event }) => attemptOf(event) === context.attempt + 1,
  isCurrentAttempt: ({ context, event }) => attemptOf(event) === context.attempt,
  withoutProcess: ({ event }) => attemptOf(event) === undefined,
  attemptUnconfirmed: ({ context, event }) => context.unconfirmed.includes(attemptOf(event) ?? -1),
  clearable: ({ context }) => context.unconfirmed.length === 0 && !context.resultsCleared,
} satisfies Record<string, Guard>;

/** Words for every guard of the chunk machine. */
export const chunkGuardDocs = {
  opensNextAttempt: 'data.attempt is the current attempt + 1',
  isCurrentAttempt: 'data.attempt is the current attempt (fencing token)',
  withoutProcess: 'no attempt is named (no process runs)',
  attemptUnconfirmed: 'data.attempt is among the unconfirmed attempts',
  clearable: 'every process is confirmed stopped and results are not cleared yet',
} as const satisfies Record<keyof typeof chunkGuards, string> & GuardDocs;

const chunkSetup = setup({
  types: { context: {} as ChunkContext, events: {} as ChunkEvent },
  guards: chunkGuards,
  actions: {
    recordCreation: assign(({ event }) => ({ ...(event as EventOf<'chunk.created'>).data })),
    recordAssignment: assign(({ context, event }) => {
      const { attempt, node, worker, request } = (event as EventOf<'chunk.assigned'>).data;
      return {
        attempt,
        node,
        worker,
        request,
        retry: undefined,
        attempts: [...context.attempts, { attempt, node, worker }],
      };
    }),
    recordProgress: assign(({ event }) => {
      const { progress, checkpoint } = (event as EventOf<'chunk.progressed'>).data;
      return checkpoint === undefined ? { progress } : { progress, checkpoint };
    }),
    recordSuccess: assign(({ context, event }) => ({
      result: (event as EventOf<'chunk.succeeded'>).data.result,
      progress: 1,
      attempts: endAttempt(context, { cause: 'Succeeded' }),
    })),
    recordAttemptFailure: assign(({ context, event }) => {
      const { cause, exitCode, signal, confirmed } = (event as EventOf<'chunk.attempt_failed'>)
        .data;
      const ended: Ended = {
        cause,
        ...(exitCode !== undefined && { exitCode }),
        ...(signal && { signal }),
      };
      return {
        attempts: endAttempt(context, ended),
        unconfirmed: withUnconfirmed(context, confirmed),
      };
    }),
    recordCancelledAttempt: assign(({ context, event }) => ({
      attempts: endAttempt(context, { cause: 'Cancelled' }),
      unconfirmed: withUnconfirmed(context, (event as EventOf<'chunk.cancelled'>).data.confirmed),
    })),
    recordFailure: assign({
      failure: ({ event }) => (event as EventOf<'chunk.failed'>).data,
    }),
    recordRetry: assign({
      retry: ({ event }) => (event as EventOf<'chunk.retry_scheduled'>).data,
    }),
    recordProcessStopped: assign({
      unconfirmed: ({ context, event }) =>
        context.unconfirmed.filter(
          (a) => a !== (event as EventOf<'chunk.process_stopped'>).data.attempt,
        ),
    }),
    recordResultsCleared: assign({ resultsCleared: true, result: undefined }),
    /** Effect hook for audit-only events; a no-op by default (bind with `machine.provide`). */
    noteRejection: () => {},
  },
});

const audit = {
  'chunk.result_rejected': { actions: 'noteRejection' },
  'chunk.command_rejected': { actions: 'noteRejection' },
} as const;
const facts = {
  ...audit,
  'chunk.process_stopped': { guard: 'attemptUnconfirmed', actions: 'recordProcessStopped' },
} as const;
const current = { guard: 'isCurrentAttempt' } as const;
const assignment = {
  target: 'assigned',
  guard: 'opensNextAttempt',
  actions: 'recordAssignment',
} as const;
const cancelWithoutProcess = { target: 'cancelled', guard: 'withoutProcess' } as const;
const attemptFailed = {
  ...current,
  target: 'retry_wait',
  actions: 'recordAttemptFailure',
} as const;
const cancelRequested = { target: 'cancelling' } as const;
const terminal = {
  tags: ['terminal'],
  on: {
    ...facts,
    'chunk.results_cleared': { guard: 'clearable', actions: 'recordResultsCleared' },
  },
} as const;

/**
 * The chunk machine. Pure. The attempt number is a fencing token: only the current attempt may
 * start, progress, succeed, fail or be confirmed cancelled; `chunk.assigned` must open exactly the
 * next one. At most one attempt is live (`assigned`/`running`/`cancelling`) at any time.
 * `pending` takes no `chunk.process_stopped`: no process has run yet.
 */
export const chunkMachine = chunkSetup.createMachine({
  id: 'chunk',
  initial: 'none',
  context: {
    jobId: '',
    index: 0,
    total: 0,
    attempt: 0,
    resultsCleared: false,
    unconfirmed: [],
    attempts: [],
  },
  states: {
    none: { on: { 'chunk.created': { target: 'pending', actions: 'recordCreation' } } },
    pending: {
      on: {
        ...audit,
        'chunk.assigned': assignment,
        'chunk.failed': { target: 'failed', actions: 'recordFailure' },
        'chunk.cancelled': cancelWithoutProcess,
      },
    },
    assigned: {
      on: {
        ...facts,
        'chunk.started': { ...current, target: 'running' },
        'chunk.attempt_failed': attemptFailed,
        'chunk.cancel_requested': cancelRequested,
      },
    },
    running: {
      on: {
        ...facts,
        'chunk.progressed': { ...current, actions: 'recordProgress' },
        'chunk.succeeded': { ...current, target: 'succeeded', actions: 'recordSuccess' },
        'chunk.attempt_failed': attemptFailed,
        'chunk.cancel_requested': cancelRequested,
      },
    },
    retry_wait: {
      on: {
        ...facts,
        'chunk.retry_scheduled': { ...current, actions: 'recordRetry' },
        'chunk.assigned': assignment,
        'chunk.failed': { target: 'failed', actions: 'recordFailure' },
        'chunk.cancelled': cancelWithoutProcess,
      },
    },
    cancelling: {
      on: {
        ...facts,
        'chunk.cancelled': { ...current, target: 'cancelled', actions: 'recordCancelledAttempt' },
      },
    },
    succeeded: terminal,
    failed: terminal,
    cancelled: terminal,
  },
});

/** A chunk as folded from its events (immutable; persist it with `toPlain`). */
export type ChunkSnapshot = SnapshotFrom<typeof chunkMachine>;

/** The fold of chunk events (pure; throws `InvalidTransitionError` on a rejected event). */
export const chunkFold = createFold(chunkMachine, chunkGuardDocs);
