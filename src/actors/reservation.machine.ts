import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { ReservationEvent, ReservationSpec } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/**
 * Context of the reservation machine: the spec as created (kept after deletion, so the audit
 * and the dashboard can still show what was reserved) and when it was deleted.
 */
export interface ReservationContext {
  readonly spec?: ReservationSpec;
  readonly createdAt?: number;
  readonly deletedAt?: number;
}

type Guard = (args: { context: ReservationContext; event: ReservationEvent }) => boolean;

/** Named guards of the reservation machine. Pure. */
const reservationGuards = {
  isWellFormed: ({ event }) => {
    if (event.type !== 'reservation.created') return false;
    const r = event.data.reservation;
    return r.end > r.start && r.nodes.length > 0 !== (r.amount !== undefined);
  },
} satisfies Record<string, Guard>;

/** Words for every guard of the reservation machine. */
export const reservationGuardDocs = {
  isWellFormed: 'end after start, and exactly one of nodes (non-empty) and amount',
} as const satisfies Record<keyof typeof reservationGuards, string> & GuardDocs;

const reservationSetup = setup({
  types: { context: {} as ReservationContext, events: {} as ReservationEvent },
  guards: reservationGuards,
  actions: {
    recordSpec: assign(({ event }) =>
      event.type === 'reservation.created'
        ? { spec: event.data.reservation, createdAt: event.at }
        : {},
    ),
    recordDeleted: assign(({ event }) => ({ deletedAt: event.at })),
  },
});

/**
 * The reservation machine. Pure. `none` until created, `active` while it holds its windows
 * (whether or not one is open now: that is a matter of the clock, decided by the policy),
 * `deleted` for good: a name is not reused, so its history stays one story.
 */
export const reservationMachine = reservationSetup.createMachine({
  id: 'reservation',
  initial: 'none',
  context: {},
  states: {
    none: {
      on: {
        'reservation.created': { target: 'active', guard: 'isWellFormed', actions: 'recordSpec' },
      },
    },
    active: { on: { 'reservation.deleted': { target: 'deleted', actions: 'recordDeleted' } } },
    deleted: { type: 'final' },
  },
});

/** A reservation as folded from its events. */
export type ReservationSnapshot = SnapshotFrom<typeof reservationMachine>;

/** The fold of reservation events (pure; throws `InvalidTransitionError` on a rejected event). */
export const reservationFold = createFold(reservationMachine, reservationGuardDocs);
