import { sameCalendar, type Calendar } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { calendarFold } from './calendar.machine.js';
import type { CalendarSnapshot } from './calendar.machine.js';
import { decideDrafts } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';

/** The data of each calendar command (sent by the API on `drover calendar import`). */
export interface CalendarCommandData {
  /** The calendar as validated and normalised by the caller (`parseCalendar`). */
  ImportCalendar: { readonly calendar: Calendar };
}
export type CalendarCommandType = keyof CalendarCommandData;
export type CalendarCommandOf<T extends CalendarCommandType> = Command<T, CalendarCommandData[T]>;
/** Any calendar command: what `decideCalendar` takes. */
export type CalendarCommand = {
  [T in CalendarCommandType]: CalendarCommandOf<T>;
}[CalendarCommandType];

/** The latest version of a folded calendar and its number (0 and undefined before the first). */
export function latestCalendar(s: CalendarSnapshot): { version: number; calendar?: Calendar } {
  const versions = s.context.versions;
  const calendar = versions[versions.length - 1];
  return calendar ? { version: versions.length, calendar } : { version: 0 };
}

/**
 * Decide a calendar command. Pure. An import whose calendar says the same as the latest version
 * (compared in normal form: `sameCalendar`) decides no event: an identical re-import changes
 * nothing. Otherwise `calendar.imported` with the next version number and the full data, checked
 * by the machine like any event.
 */
export function decideCalendar(state: CalendarSnapshot, command: CalendarCommand): Decision {
  const { version, calendar } = latestCalendar(state);
  const next = command.data.calendar;
  if (calendar && sameCalendar(calendar, next)) return { ok: true, events: [] };
  const draft = {
    type: 'calendar.imported' as const,
    data: { version: version + 1, calendar: next },
  };
  return decideDrafts(calendarFold, state, command, [draft], undefined);
}

/** The calendar as the entity runtime sees it. Pure. */
export const calendarBehaviour: EntityBehaviour<CalendarSnapshot, CalendarCommand> = {
  entity: 'calendar',
  initial: calendarFold.initial,
  evolve: calendarFold.evolve,
  decide: decideCalendar,
  stateOf: stateName,
};
