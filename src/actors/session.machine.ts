import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { EventOf, SessionEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

type Opened = EventOf<'session.opened'>['data'];

/** One placement of a session: the node its process (or an allocation's hold) runs on. */
export interface SessionPlacement {
  readonly node: string;
  readonly worker?: string;
  readonly pid?: number;
  readonly at: number;
}

/**
 * Context of the session machine: what was opened (by whom, for what), where it runs, its
 * terminal size, and how it ended. Bytes are never here: they travel on core NATS.
 */
export interface SessionContext {
  readonly opened?: Opened;
  readonly openedAt: number;
  readonly placements: readonly SessionPlacement[];
  readonly cols?: number;
  readonly rows?: number;
  readonly stopReason?: string;
  readonly exit?: EventOf<'session.exited'>['data'] & { readonly at: number };
}

type Guard = (args: { context: SessionContext; event: SessionEvent }) => boolean;

/** Named guards of the session machine. Pure. */
const sessionGuards = {
  /** A run has one place; an allocation one per node it holds, each node once. */
  hasRoomForPlacement: ({ context, event }) => {
    const wanted = context.opened?.nodes ?? 1;
    const node = (event as EventOf<'session.placed'>).data.node;
    return context.placements.length < wanted && !context.placements.some((p) => p.node === node);
  },
  isTty: ({ context }) => context.opened?.tty === true,
} satisfies Record<string, Guard>;

/** Words for every guard of the session machine. */
export const sessionGuardDocs = {
  hasRoomForPlacement:
    'fewer placements than the nodes opened (1 for a run) and not on a node already held',
  isTty: 'the session was opened with a pty (-it)',
} as const satisfies Record<keyof typeof sessionGuards, string> & GuardDocs;

const sessionSetup = setup({
  types: { context: {} as SessionContext, events: {} as SessionEvent },
  guards: sessionGuards,
  actions: {
    recordOpen: assign(({ event }) => {
      const { data, at } = event as EventOf<'session.opened'>;
      return {
        opened: data,
        openedAt: at,
        ...(data.cols !== undefined && { cols: data.cols }),
        ...(data.rows !== undefined && { rows: data.rows }),
      };
    }),
    recordPlacement: assign(({ context, event }) => {
      const { data, at } = event as EventOf<'session.placed'>;
      return { placements: [...context.placements, { ...data, at }] };
    }),
    recordSize: assign(({ event }) => {
      const { cols, rows } = (event as EventOf<'session.resized'>).data;
      return { cols, rows };
    }),
    recordStop: assign({
      stopReason: ({ event }) => (event as EventOf<'session.stop_requested'>).data.reason,
    }),
    recordExit: assign({
      exit: ({ event }) => {
        const { data, at } = event as EventOf<'session.exited'>;
        return { ...data, at };
      },
    }),
  },
});

const placed = {
  target: 'running',
  guard: 'hasRoomForPlacement',
  actions: 'recordPlacement',
} as const;
const resized = { guard: 'isTty', actions: 'recordSize' } as const;
const stop = { target: 'stopping', actions: 'recordStop' } as const;
const exited = { target: 'exited', actions: 'recordExit' } as const;

/**
 * The session machine. Pure. `opened` until its process starts somewhere (`session.placed`),
 * `running` while its bytes flow (an allocation takes one placement per node), `stopping` once
 * a stop was asked (by its user, or by the agent when the client stopped answering), `exited`
 * with the exit code (or why an allocation ended). A resize is only for a pty.
 */
export const sessionMachine = sessionSetup.createMachine({
  id: 'session',
  initial: 'none',
  context: { openedAt: 0, placements: [] },
  states: {
    none: { on: { 'session.opened': { target: 'opened', actions: 'recordOpen' } } },
    opened: {
      on: {
        // The first placement always has room (a session holds at least one node).
        'session.placed': { target: 'running', actions: 'recordPlacement' },
        'session.resized': resized,
        'session.stop_requested': stop,
        'session.exited': exited,
      },
    },
    running: {
      on: {
        'session.placed': placed,
        'session.resized': resized,
        'session.stop_requested': stop,
        'session.exited': exited,
      },
    },
    stopping: {
      on: {
        'session.placed': { guard: 'hasRoomForPlacement', actions: 'recordPlacement' } as const,
        'session.exited': exited,
      },
    },
    exited: {},
  },
});

/** A session as folded from its events. */
export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

/** The fold of session events (pure; throws `InvalidTransitionError` on a rejected event). */
export const sessionFold = createFold(sessionMachine, sessionGuardDocs);
