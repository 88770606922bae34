import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, NodeEvent } from '../events/index.js';
import { createFold } from './evolve.js';

/** Context of the node machine: what the agent registered, and why it last changed state. */
export interface NodeContext {
  readonly hostname: string;
  readonly cpus: number;
  readonly memMb: number;
  readonly gpus: number;
  readonly labels: Readonly<Record<string, string>>;
  /** One life of the agent; a new one means its processes must be reconciled. */
  readonly incarnation: string;
  readonly reason?: string;
}

type WithReason = EventOf<'node.drain_requested' | 'node.cordoned' | 'node.lost' | 'node.offline'>;

const nodeSetup = setup({
  types: { context: {} as NodeContext, events: {} as NodeEvent },
  actions: {
    recordRegistration: assign(({ event }) => {
      const { hostname, cpus, memMb, gpus, labels, incarnation } = (
        event as EventOf<'node.registered'>
      ).data;
      return { hostname, cpus, memMb, gpus, labels, incarnation, reason: undefined };
    }),
    recordReason: assign({ reason: ({ event }) => (event as WithReason).data.reason }),
    clearReason: assign({ reason: undefined }),
  },
});

const lose = { target: 'lost', actions: 'recordReason' } as const;
const offline = { target: 'offline', actions: 'recordReason' } as const;
const down = { 'node.lost': lose, 'node.offline': offline } as const;
const drain = { target: 'draining', actions: 'recordReason' } as const;
const ready = { target: 'ready', actions: 'clearReason' } as const;
const cordon = { target: 'cordoned', actions: 'recordReason' } as const;

/**
 * The node machine. Pure. `node.registered` is accepted in every state (a root transition): an
 * agent that restarts registers again with a new incarnation, whatever the log thought of it.
 */
export const nodeMachine = nodeSetup.createMachine({
  id: 'node',
  initial: 'none',
  context: { hostname: '', cpus: 0, memMb: 0, gpus: 0, labels: {}, incarnation: '' },
  on: { 'node.registered': { target: '.registering', actions: 'recordRegistration' } },
  states: {
    none: {},
    registering: { on: { ...down, 'node.ready': 'ready' } },
    ready: {
      on: {
        ...down,
        'node.drain_requested': drain,
        'node.cordoned': cordon,
      },
    },
    // Cordoning a draining or drained node keeps it out after the drain (a node handed over
    // for repair): its reason says why, and only uncordon brings it back.
    draining: {
      on: { ...down, 'node.drained': 'drained', 'node.undrained': ready, 'node.cordoned': cordon },
    },
    drained: { on: { ...down, 'node.undrained': ready, 'node.cordoned': cordon } },
    cordoned: { on: { ...down, 'node.drain_requested': drain, 'node.uncordoned': ready } },
    lost: { on: { 'node.offline': offline } },
    offline: {},
  },
});

/** A node as folded from its events (immutable; persist it with `toPlain`). */
export type NodeSnapshot = SnapshotFrom<typeof nodeMachine>;

/** Node guards: none, every node transition is unconditional. */
export const nodeGuardDocs = {} as const;

/** The fold of node events (pure; throws `InvalidTransitionError` on a rejected event). */
export const nodeFold = createFold(nodeMachine, nodeGuardDocs);
