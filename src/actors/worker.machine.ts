import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, FailureCause, WorkerEvent } from '../events/index.js';
import { createFold } from './evolve.js';

/** Why Drover asked for a worker to be killed. */
export type KillReason = EventOf<'worker.kill_requested'>['data']['reason'];

/** Context of the worker machine: one attempt's process group on one node. */
export interface WorkerContext {
  readonly jobId: string;
  readonly chunk: number;
  readonly attempt: number;
  readonly node: string;
  readonly memLimitMb: number;
  readonly pid?: number;
  /** The true peak of the whole process tree, kept even when it was killed for memory. */
  readonly peakRssMb: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly cause?: FailureCause;
  /** The agent's words on how an attempt that did not succeed ended (`worker.exited`). */
  readonly message?: string;
  readonly killRequested?: KillReason;
}

type Usage = EventOf<'worker.exited'>['data'];

/** Usage only grows: samples and final figures can arrive in any order relative to each other. */
const mergeUsage = (
  c: WorkerContext,
  u: Pick<Usage, 'peakRssMb' | 'cpuSeconds'> & { wallSeconds?: number },
) => ({
  peakRssMb: Math.max(c.peakRssMb, u.peakRssMb),
  cpuSeconds: Math.max(c.cpuSeconds, u.cpuSeconds),
  wallSeconds: Math.max(c.wallSeconds, u.wallSeconds ?? 0),
});

const workerSetup = setup({
  types: { context: {} as WorkerContext, events: {} as WorkerEvent },
  actions: {
    recordLaunch: assign(({ event }) => {
      const { jobId, chunk, attempt, node, memLimitMb } = (event as EventOf<'worker.launching'>)
        .data;
      return { jobId, chunk, attempt, node, memLimitMb };
    }),
    recordPid: assign({
      pid: ({ event }) => (event as EventOf<'worker.started' | 'worker.readopted'>).data.pid,
    }),
    recordSample: assign(({ context, event }) => {
      const { rssMb, peakRssMb, cpuSeconds } = (event as EventOf<'worker.sampled'>).data;
      return mergeUsage(context, { peakRssMb: Math.max(rssMb, peakRssMb), cpuSeconds });
    }),
    recordKillRequest: assign({
      killRequested: ({ event }) => (event as EventOf<'worker.kill_requested'>).data.reason,
    }),
    recordExit: assign(({ context, event }) => {
      const { exitCode, signal, cause, message, ...usage } = (event as EventOf<'worker.exited'>)
        .data;
      const said = message === undefined ? {} : { message };
      return { ...mergeUsage(context, usage), exitCode, signal, cause, ...said };
    }),
    recordKill: assign(({ context, event }) => {
      const { signal, cause, ...usage } = (event as EventOf<'worker.killed'>).data;
      return { ...mergeUsage(context, usage), signal, cause };
    }),
    recordLoss: assign({ cause: ({ event }) => (event as EventOf<'worker.lost'>).data.cause }),
    recordReadoption: assign(({ event }) => ({
      pid: (event as EventOf<'worker.readopted'>).data.pid,
      cause: undefined,
    })),
  },
});

const ending = {
  'worker.exited': { target: 'exited', actions: 'recordExit' },
  'worker.killed': { target: 'killed', actions: 'recordKill' },
} as const;
const live = {
  ...ending,
  'worker.kill_requested': { actions: 'recordKillRequest' },
  'worker.lost': { target: 'lost', actions: 'recordLoss' },
} as const;

/**
 * The worker machine: the life of one attempt's process group. Pure. `lost` is not terminal: the
 * process may still run, and a restarted agent later reports it exited, killed or readopted.
 */
export const workerMachine = workerSetup.createMachine({
  id: 'worker',
  initial: 'none',
  context: {
    jobId: '',
    chunk: 0,
    attempt: 0,
    node: '',
    memLimitMb: 0,
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
  },
  states: {
    none: { on: { 'worker.launching': { target: 'launching', actions: 'recordLaunch' } } },
    launching: { on: { ...live, 'worker.started': { target: 'running', actions: 'recordPid' } } },
    running: {
      on: {
        ...live,
        'worker.sampled': { actions: 'recordSample' },
        'worker.readopted': { actions: 'recordReadoption' },
      },
    },
    lost: {
      on: { ...ending, 'worker.readopted': { target: 'running', actions: 'recordReadoption' } },
    },
    exited: { tags: ['terminal'] },
    killed: { tags: ['terminal'] },
  },
});

/** A worker as folded from its events (immutable; persist it with `toPlain`). */
export type WorkerSnapshot = SnapshotFrom<typeof workerMachine>;

/** Worker guards: none, every worker transition is unconditional. */
export const workerGuardDocs = {} as const;

/** The fold of worker events (pure; throws `InvalidTransitionError` on a rejected event). */
export const workerFold = createFold(workerMachine, workerGuardDocs);
