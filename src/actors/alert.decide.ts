import type { AlertEvent, EventData } from '../events/index.js';
import { alertFold } from './alert.machine.js';
import type { AlertSnapshot } from './alert.machine.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';

/** The data of each alert command (the alert evaluator's, and a person's ack). */
export interface AlertCommandData {
  OpenAlert: EventData<'alert.opened'>;
  FireAlert: EventData<'alert.fired'>;
  ResolveAlert: EventData<'alert.resolved'>;
  WithdrawAlert: EventData<'alert.withdrawn'>;
  AcknowledgeAlert: EventData<'alert.acknowledged'>;
  RecordNotification: EventData<'alert.notified'>;
}
export type AlertCommandType = keyof AlertCommandData;
export type AlertCommandOf<T extends AlertCommandType> = Command<T, AlertCommandData[T]>;
/** Any alert command: what `decideAlert` takes. */
export type AlertCommand = { [T in AlertCommandType]: AlertCommandOf<T> }[AlertCommandType];

/** Each alert command becomes exactly one event (exhaustive by its type). */
const alertEventOf = {
  OpenAlert: 'alert.opened',
  FireAlert: 'alert.fired',
  ResolveAlert: 'alert.resolved',
  WithdrawAlert: 'alert.withdrawn',
  AcknowledgeAlert: 'alert.acknowledged',
  RecordNotification: 'alert.notified',
} as const satisfies Record<AlertCommandType, AlertEvent['type']>;

/**
 * Decide an alert command. Pure. Legal when the alert machine accepts its event: a second
 * evaluator that fires an alert already firing is refused here (and finds nothing to do), and
 * an ack by a service is refused by the machine's `byPerson` guard.
 */
export const decideAlert: (state: AlertSnapshot, command: AlertCommand) => Decision =
  oneEventDecider(alertFold, alertEventOf, undefined);

/** The alert as the entity runtime sees it. Pure. */
export const alertBehaviour: EntityBehaviour<AlertSnapshot, AlertCommand> = {
  entity: 'alert',
  initial: alertFold.initial,
  evolve: alertFold.evolve,
  decide: decideAlert,
  stateOf: stateName,
};
