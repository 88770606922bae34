import type { EventData, SessionEvent } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { sessionFold } from './session.machine.js';
import type { SessionSnapshot } from './session.machine.js';

/** The data of each session command (the API opens, resizes and stops; the agent places and ends). */
export interface SessionCommandData {
  OpenSession: EventData<'session.opened'>;
  PlaceSession: EventData<'session.placed'>;
  ResizeSession: EventData<'session.resized'>;
  StopSession: EventData<'session.stop_requested'>;
  EndSession: EventData<'session.exited'>;
}
export type SessionCommandType = keyof SessionCommandData;
export type SessionCommandOf<T extends SessionCommandType> = Command<T, SessionCommandData[T]>;
/** Any session command: what `decideSession` takes. */
export type SessionCommand = {
  [T in SessionCommandType]: SessionCommandOf<T>;
}[SessionCommandType];

const sessionEventOf = {
  OpenSession: 'session.opened',
  PlaceSession: 'session.placed',
  ResizeSession: 'session.resized',
  StopSession: 'session.stop_requested',
  EndSession: 'session.exited',
} as const satisfies Record<SessionCommandType, SessionEvent['type']>;

/**
 * Decide a session command. Pure. Each command is one event, legal when the session machine
 * accepts it (a second placement of a run, a resize of a session without a pty, anything after
 * its exit: refused, never written).
 */
export const decideSession: (state: SessionSnapshot, command: SessionCommand) => Decision =
  oneEventDecider(sessionFold, sessionEventOf, undefined);

/** The session as the entity runtime sees it. Pure. */
export const sessionBehaviour: EntityBehaviour<SessionSnapshot, SessionCommand> = {
  entity: 'session',
  initial: sessionFold.initial,
  evolve: sessionFold.evolve,
  decide: decideSession,
  stateOf: stateName,
};
