import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { Calendar, CalendarEvent } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/**
 * Context of the calendar machine: every imported version, oldest first (`versions[n - 1]` is
 * version n). Versions are never dropped, so a run can always show the calendar that decided it.
 * Calendars are small (a year of holidays is a few hundred bytes) and change a few times a year.
 */
export interface CalendarContext {
  readonly versions: readonly Calendar[];
}

type Guard = (args: { context: CalendarContext; event: CalendarEvent }) => boolean;

/** Named guards of the calendar machine. Pure. */
const calendarGuards = {
  isNextVersion: ({ context, event }) => event.data.version === context.versions.length + 1,
} satisfies Record<string, Guard>;

/** Words for every guard of the calendar machine. */
export const calendarGuardDocs = {
  isNextVersion: 'data.version is the number of versions so far + 1 (no gaps, no rewrites)',
} as const satisfies Record<keyof typeof calendarGuards, string> & GuardDocs;

const calendarSetup = setup({
  types: { context: {} as CalendarContext, events: {} as CalendarEvent },
  guards: calendarGuards,
  actions: {
    recordVersion: assign(({ context, event }) => ({
      versions: [...context.versions, event.data.calendar],
    })),
  },
});

const imported = { target: 'active', guard: 'isNextVersion', actions: 'recordVersion' } as const;

/**
 * The calendar machine. Pure. `none` until the first import; each `calendar.imported` with
 * changes adds the next version. An identical re-import is decided away before it reaches the
 * machine (`decideCalendar`), so the log holds one event per real change.
 */
export const calendarMachine = calendarSetup.createMachine({
  id: 'calendar',
  initial: 'none',
  context: { versions: [] },
  states: {
    none: { on: { 'calendar.imported': imported } },
    active: { on: { 'calendar.imported': imported } },
  },
});

/** A calendar as folded from its events. */
export type CalendarSnapshot = SnapshotFrom<typeof calendarMachine>;

/** The fold of calendar events (pure; throws `InvalidTransitionError` on a rejected event). */
export const calendarFold = createFold(calendarMachine, calendarGuardDocs);
