import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, NodeEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

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
  /**
   * The operator's hold on the node (a cordon, or a drain), with its reason: it outlives agent
   * restarts and losses, so a node that registers again returns to it instead of to `ready`.
   * Only uncordon or undrain lifts it.
   */
  readonly hold?: { readonly kind: 'cordon' | 'drain'; readonly reason: string };
}

type Guard = (args: { context: NodeContext; event: NodeEvent }) => boolean;

/** Named guards of the node machine. Pure. */
const nodeGuards = {
  heldCordoned: ({ context }) => context.hold?.kind === 'cordon',
  heldDraining: ({ context }) => context.hold?.kind === 'drain',
} satisfies Record<string, Guard>;

type WithReason = EventOf<'node.drain_requested' | 'node.cordoned' | 'node.lost' | 'node.offline'>;

/** Words for every guard of the node machine. */
export const nodeGuardDocs = {
  heldCordoned:
    'the operator cordoned the node (and has not uncordoned it) before it registered again',
  heldDraining:
    'the operator drained the node (and has not undrained it) before it registered again',
} as const satisfies Record<keyof typeof nodeGuards, string> & GuardDocs;

const nodeSetup = setup({
  types: { context: {} as NodeContext, events: {} as NodeEvent },
  guards: nodeGuards,
  actions: {
    recordRegistration: assign(({ event }) => {
      const { hostname, cpus, memMb, gpus, labels, incarnation } = (
        event as EventOf<'node.registered'>
      ).data;
      return { hostname, cpus, memMb, gpus, labels, incarnation, reason: undefined };
    }),
    recordReason: assign({ reason: ({ event }) => (event as WithReason).data.reason }),
    clearReason: assign({ reason: undefined }),
    holdCordoned: assign({
      hold: ({ event }) => ({ kind: 'cordon' as const, reason: (event as WithReason).data.reason }),
    }),
    // A drain scoped to one life of the agent (its agent stopping) is no operator's hold.
    holdDraining: assign({
      hold: ({ context, event }) => {
        const { reason, incarnation } = (event as EventOf<'node.drain_requested'>).data;
        return incarnation === undefined ? { kind: 'drain' as const, reason } : context.hold;
      },
    }),
    releaseHold: assign({ hold: undefined }),
    restoreHoldReason: assign({ reason: ({ context }) => context.hold?.reason }),
  },
});

const lose = { target: 'lost', actions: 'recordReason' } as const;
const offline = { target: 'offline', actions: 'recordReason' } as const;
const down = { 'node.lost': lose, 'node.offline': offline } as const;
const drain = { target: 'draining', actions: ['recordReason', 'holdDraining'] } as const;
const ready = { target: 'ready', actions: ['clearReason', 'releaseHold'] } as const;
const cordon = { target: 'cordoned', actions: ['recordReason', 'holdCordoned'] } as const;
/**
 * The end of a registration: back to the operator's hold when there is one (a restart or a
 * rejoin after a loss must not put a cordoned or drained node back to work), else ready. A held
 * drain starts over as `draining`: re-adopted workers may still run, and the scheduler confirms
 * `drained` once nothing lives there.
 */
const registered = [
  { guard: 'heldCordoned', target: 'cordoned', actions: 'restoreHoldReason' },
  { guard: 'heldDraining', target: 'draining', actions: 'restoreHoldReason' },
  { target: 'ready' },
] as const;

/**
 * The node machine. Pure. `node.registered` is accepted in every state (a root transition): an
 * agent that restarts registers again with a new incarnation, whatever the log thought of it;
 * the operator's cordon or drain (`hold`) survives it.
 */
export const nodeMachine = nodeSetup.createMachine({
  id: 'node',
  initial: 'none',
  context: { hostname: '', cpus: 0, memMb: 0, gpus: 0, labels: {}, incarnation: '' },
  on: { 'node.registered': { target: '.registering', actions: 'recordRegistration' } },
  states: {
    none: {},
    registering: { on: { ...down, 'node.ready': registered } },
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

/** The fold of node events (pure; throws `InvalidTransitionError` on a rejected event). */
export const nodeFold = createFold(nodeMachine, nodeGuardDocs);
