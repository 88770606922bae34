import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, JobEvent, JobFailureCause, JobSpec } from '../events/index.js';
import * as chunkSettlements from './chunk-settlements.js';
import type { ChunkSettlements, Settlement } from './chunk-settlements.js';
import { createFold } from './evolve.js';
import { internData, internSpec } from './intern.js';
import type { GuardDocs } from './evolve.js';

/** Context of the job machine: exactly what its decisions need. */
export interface JobContext {
  readonly spec?: JobSpec;
  readonly priority: number;
  /** What the job knows of each chunk index (compact: read it with `chunkSettlements.at`). */
  readonly chunks: ChunkSettlements;
  /** Child jobs by id: `null` until the child settles. */
  readonly children: Readonly<Record<string, Settlement | null>>;
  readonly outcome?: {
    readonly cause: JobFailureCause;
    readonly message: string;
    readonly chunk?: number;
  };
  readonly resultsCleared: boolean;
  readonly holdReason?: string;
  /**
   * The scheduler's last noted reasons for waiting (empty once none apply). Only the reasons: the
   * note's `ahead`, `rank` and `queueLength` stay in the log (audit, the decisions projection
   * reads them there) but are not kept per waiting job, where twenty users per job were most of a
   * queued job's memory in the scheduler, and a rank per job kept an object per job that is now
   * one shared value for every job waiting for the same reasons.
   */
  readonly pending?: Pick<EventOf<'job.pending_noted'>['data'], 'reasons'>;
  readonly cancelReason?: string;
  readonly createdAt?: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
}

/** Shared by every job without children (updates copy it, never change it). */
const NO_CHILDREN: JobContext['children'] = Object.freeze({});

const sameSettlement = (a: Settlement | null | undefined, b: Settlement) =>
  !!a && a.state === b.state && a.quiescent === b.quiescent;
const children = (c: JobContext) => Object.values(c.children);

/** Every chunk and child settled. Pure; O(children): chunks are counted as they settle. */
export const allSettled = (c: JobContext) =>
  chunkSettlements.everySettled(c.chunks) && children(c).every((s) => s !== null);
/** Every chunk and child settled and quiescent: no process of the job can still run. Pure. */
export const allQuiescent = (c: JobContext) =>
  chunkSettlements.everyQuiescent(c.chunks) && children(c).every((s) => s?.quiescent === true);
/** Every chunk and child settled `succeeded`. Pure. */
export const allSucceeded = (c: JobContext) =>
  chunkSettlements.everySucceeded(c.chunks) && children(c).every((s) => s?.state === 'succeeded');

const awaitsQuiescence = (s: Settlement | null | undefined) => !!s && !s.quiescent;

type Guard = (args: { context: JobContext; event: JobEvent }) => boolean;

/** Named guards of the job machine. Pure. */
const jobGuards = {
  childIsNew: ({ context, event }) =>
    event.type === 'job.child_added' && !(event.data.childId in context.children),
  childSettlementFits: ({ context, event }) => {
    if (event.type !== 'job.child_settled') return false;
    const { childId, ...s } = event.data;
    const prior = context.children[childId];
    return prior === null || sameSettlement(prior, s);
  },
  childAwaitsQuiescence: ({ context, event }) =>
    event.type === 'job.child_quiesced' && awaitsQuiescence(context.children[event.data.childId]),
  chunkSettlementsFit: ({ context, event }) =>
    event.type === 'job.chunks_settled' && chunkSettlements.fits(context.chunks, event.data.chunks),
  chunksAwaitQuiescence: ({ context, event }) =>
    event.type === 'job.chunks_quiesced' &&
    chunkSettlements.awaitQuiescence(context.chunks, event.data.indices),
  allSucceeded: ({ context }) => allSucceeded(context),
  allSettled: ({ context }) => allSettled(context),
  allQuiescent: ({ context }) => allQuiescent(context),
  clearable: ({ context }) => allQuiescent(context) && !context.resultsCleared,
} satisfies Record<string, Guard>;

const jobSetup = setup({
  types: { context: {} as JobContext, events: {} as JobEvent },
  guards: jobGuards,
  actions: {
    recordSubmission: assign(({ event }) => {
      // Shared with other jobs where equal (user, pool, command, empty lists): see intern.ts.
      const spec = internSpec((event as EventOf<'job.submitted'>).data);
      return {
        spec,
        priority: spec.priority,
        chunks: chunkSettlements.empty(spec.chunks),
        children: NO_CHILDREN,
        createdAt: event.at,
      };
    }),
    recordHold: assign({ holdReason: ({ event }) => (event as EventOf<'job.held'>).data.reason }),
    recordRelease: assign({ holdReason: undefined }),
    recordStart: assign({ startedAt: ({ event }) => event.at }),
    recordChild: assign({
      children: ({ context, event }) => {
        const { childId } = (event as EventOf<'job.child_added'>).data;
        return { ...context.children, [childId]: null };
      },
    }),
    recordChildSettled: assign({
      children: ({ context, event }) => {
        const { childId, state, quiescent } = (event as EventOf<'job.child_settled'>).data;
        return { ...context.children, [childId]: { state, quiescent } };
      },
    }),
    recordChildQuiesced: assign({
      children: ({ context, event }) => {
        const { childId } = (event as EventOf<'job.child_quiesced'>).data;
        const prior = context.children[childId];
        return prior
          ? { ...context.children, [childId]: { ...prior, quiescent: true } }
          : context.children;
      },
    }),
    recordChunksSettled: assign({
      chunks: ({ context, event }) =>
        chunkSettlements.settle(
          context.chunks,
          (event as EventOf<'job.chunks_settled'>).data.chunks,
        ),
    }),
    recordChunksQuiesced: assign({
      chunks: ({ context, event }) =>
        chunkSettlements.quiesce(
          context.chunks,
          (event as EventOf<'job.chunks_quiesced'>).data.indices,
        ),
    }),
    recordPriority: assign({
      priority: ({ event }) => (event as EventOf<'job.priority_changed'>).data.priority,
    }),
    recordPending: assign({
      // Waiting jobs mostly hold the same reasons: one shared frozen copy of `{ reasons }`.
      pending: ({ event }) =>
        internData({ reasons: (event as EventOf<'job.pending_noted'>).data.reasons }),
    }),
    recordSuccess: assign({ endedAt: ({ event }) => event.at }),
    recordFailure: assign(({ event }) => ({
      outcome: (event as EventOf<'job.failed'>).data,
      endedAt: event.at,
    })),
    recordCancelRequest: assign({
      cancelReason: ({ event }) => (event as EventOf<'job.cancel_requested'>).data.reason,
    }),
    recordCancelled: assign(({ context, event }) => ({
      outcome: { cause: 'Cancelled' as const, message: context.cancelReason ?? '' },
      endedAt: event.at,
    })),
    recordResultsCleared: assign({ resultsCleared: true }),
    /** Effect hook for audit-only events; a no-op by default (bind with `machine.provide`). */
    noteRejection: () => {},
  },
});

/** Words for every guard of the job machine (rejection messages, transition tables). */
export const jobGuardDocs = {
  childIsNew: 'the child is not known yet',
  childSettlementFits: 'the child is known and not settled yet (or settled identically)',
  childAwaitsQuiescence: 'the child is settled and not quiescent yet',
  chunkSettlementsFit: 'every index is in range and not settled yet (or settled identically)',
  chunksAwaitQuiescence: 'every index is settled and not quiescent yet',
  allSucceeded: 'every chunk and every child settled succeeded',
  allSettled: 'every chunk and every child is settled',
  allQuiescent: 'every chunk and every child is settled and quiescent',
  clearable: 'every chunk and child is settled and quiescent, and results are not cleared yet',
} as const satisfies Record<keyof typeof jobGuards, string> & GuardDocs;

const audit = { 'job.command_rejected': { actions: 'noteRejection' } } as const;
const settle = {
  'job.child_settled': { guard: 'childSettlementFits', actions: 'recordChildSettled' },
  'job.chunks_settled': { guard: 'chunkSettlementsFit', actions: 'recordChunksSettled' },
} as const;
/** Facts a job records in every state where they can occur (they only record, never decide). */
const facts = {
  ...audit,
  ...settle,
  'job.child_quiesced': { guard: 'childAwaitsQuiescence', actions: 'recordChildQuiesced' },
  'job.chunks_quiesced': { guard: 'chunksAwaitQuiescence', actions: 'recordChunksQuiesced' },
} as const;
const open = {
  ...facts,
  'job.child_added': { guard: 'childIsNew', actions: 'recordChild' },
  'job.priority_changed': { actions: 'recordPriority' },
  'job.pending_noted': { actions: 'recordPending' },
  'job.cancel_requested': { target: 'cancelling', actions: 'recordCancelRequest' },
} as const;
const succeed = { target: 'succeeded', guard: 'allSucceeded', actions: 'recordSuccess' } as const;
const fail = { target: 'failed', guard: 'allSettled', actions: 'recordFailure' } as const;
const clear = { guard: 'clearable', actions: 'recordResultsCleared' } as const;

/**
 * The job machine. Pure: consumes job domain events, holds no timers, spawns nothing.
 * Terminal states are tagged `terminal` and stay open for facts and `job.results_cleared`.
 * `cancelled` takes no quiescence facts: it is only reached once everything is quiescent.
 */
export const jobMachine = jobSetup.createMachine({
  id: 'job',
  initial: 'none',
  context: { priority: 0, chunks: chunkSettlements.empty(0), children: {}, resultsCleared: false },
  states: {
    none: { on: { 'job.submitted': { target: 'submitted', actions: 'recordSubmission' } } },
    submitted: {
      on: {
        ...open,
        'job.queued': 'queued',
        'job.held': { target: 'held', actions: 'recordHold' },
        'job.failed': fail,
      },
    },
    queued: {
      on: {
        ...open,
        'job.held': { target: 'held', actions: 'recordHold' },
        'job.started': { target: 'running', actions: 'recordStart' },
        'job.succeeded': succeed,
        'job.failed': fail,
      },
    },
    held: {
      on: {
        ...open,
        'job.released': { target: 'queued', actions: 'recordRelease' },
        'job.failed': fail,
      },
    },
    running: { on: { ...open, 'job.succeeded': succeed, 'job.failed': fail } },
    cancelling: {
      on: {
        ...facts,
        'job.priority_changed': { actions: 'recordPriority' },
        'job.cancelled': { target: 'cancelled', guard: 'allQuiescent', actions: 'recordCancelled' },
      },
    },
    succeeded: { tags: ['terminal'], on: { ...facts, 'job.results_cleared': clear } },
    failed: { tags: ['terminal'], on: { ...facts, 'job.results_cleared': clear } },
    cancelled: { tags: ['terminal'], on: { ...audit, ...settle, 'job.results_cleared': clear } },
  },
});

/** A job as folded from its events (immutable; persist it with `toPlain`). */
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** The fold of job events (pure; throws `InvalidTransitionError` on a rejected event). */
export const jobFold = createFold(jobMachine, jobGuardDocs);
