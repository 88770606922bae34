import type { ReservationSpec } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { decideDrafts, RejectionCodes } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { reservationFold } from './reservation.machine.js';
import type { ReservationSnapshot } from './reservation.machine.js';

/** The data of each reservation command (sent by the API on `drover reservation ...`). */
export interface ReservationCommandData {
  /** The reservation as validated by the caller (`parseReservation`). */
  CreateReservation: { readonly reservation: ReservationSpec };
  DeleteReservation: { readonly reason?: string };
}
export type ReservationCommandType = keyof ReservationCommandData;
export type ReservationCommandOf<T extends ReservationCommandType> = Command<
  T,
  ReservationCommandData[T]
>;
/** Any reservation command: what `decideReservation` takes. */
export type ReservationCommand = {
  [T in ReservationCommandType]: ReservationCommandOf<T>;
}[ReservationCommandType];

/**
 * Decide a reservation command. Pure. A create of a name already used (even deleted: names are
 * not reused) and a delete of one that is not active are refused with words that say so; the
 * machine checks the event like any other.
 */
export function decideReservation(
  state: ReservationSnapshot,
  command: ReservationCommand,
): Decision {
  const now = stateName(state);
  switch (command.type) {
    case 'CreateReservation': {
      if (now !== 'none')
        return refused(`reservation ${command.data.reservation.name} exists (${now})`);
      const draft = { type: 'reservation.created' as const, data: command.data };
      return decideDrafts(reservationFold, state, command, [draft], undefined);
    }
    case 'DeleteReservation': {
      if (now !== 'active') return refused(`reservation is ${now === 'none' ? 'unknown' : now}`);
      const data = command.data.reason !== undefined ? { reason: command.data.reason } : {};
      const draft = { type: 'reservation.deleted' as const, data };
      return decideDrafts(reservationFold, state, command, [draft], undefined);
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function refused(message: string): Decision {
  return { ok: false, rejection: { code: RejectionCodes.InvalidTransition, message } };
}

/** The reservation as the entity runtime sees it. Pure. */
export const reservationBehaviour: EntityBehaviour<ReservationSnapshot, ReservationCommand> = {
  entity: 'reservation',
  initial: reservationFold.initial,
  evolve: reservationFold.evolve,
  decide: decideReservation,
  stateOf: stateName,
};
