import { z } from 'zod';
import { EntityIdSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Whether `s` is a real calendar date `YYYY-MM-DD` (2016-02-30 is not). Pure. */
export function isIsoDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

const zones = new Map<string, boolean>();
/** Whether `tz` is an IANA time zone this runtime knows (asked of `Intl`, cached). Pure. */
export function isTimeZone(tz: string): boolean {
  let known = zones.get(tz);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      known = /^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz);
    } catch {
      known = false;
    }
    zones.set(tz, known);
  }
  return known;
}

/** A calendar date, `YYYY-MM-DD`. */
export const IsoDateSchema = z.string().refine(isIsoDate, 'expected YYYY-MM-DD');
/** A wall-clock time of day, `HH:MM` (24 h). */
export const WallTimeSchema = z.string().regex(TIME, 'expected HH:MM');
/** An IANA time zone (`America/New_York`). */
export const TimeZoneSchema = z.string().refine(isTimeZone, 'expected an IANA time zone');

const Label = z.string().min(1).max(200);

/**
 * A trading calendar as imported (CONTRACT "Calendars"): regular session hours in one zone,
 * trading weekdays (ISO: 1 = Monday … 7 = Sunday), holidays (no session), early closes and late
 * opens. `from`/`to` (an addition to the contract's file, optional) state the dates the data
 * covers; without them a calendar covers the whole years its dated entries fall in.
 * Cross-field rules (open before close, one entry per date...) are in `calendarProblems`.
 */
export const CalendarSchema = z.strictObject({
  name: EntityIdSchema,
  timezone: TimeZoneSchema,
  open: WallTimeSchema,
  close: WallTimeSchema,
  weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7).default([1, 2, 3, 4, 5]),
  holidays: z.array(z.strictObject({ date: IsoDateSchema, name: Label })).max(10_000),
  earlyCloses: z
    .array(z.strictObject({ date: IsoDateSchema, close: WallTimeSchema, name: Label }))
    .max(10_000)
    .default([]),
  lateOpens: z
    .array(z.strictObject({ date: IsoDateSchema, open: WallTimeSchema, name: Label }))
    .max(10_000)
    .default([]),
  from: IsoDateSchema.optional(),
  to: IsoDateSchema.optional(),
});
/** A calendar with every default filled in (what events carry). */
export type Calendar = z.infer<typeof CalendarSchema>;
/** A calendar as a file may state it (defaults not yet filled in). */
export type CalendarInput = z.input<typeof CalendarSchema>;

type Dated = { readonly date: string };
const byDate = <T extends Dated>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));

/**
 * The canonical form of a calendar: lists sorted by date, weekdays ascending, keys in one order.
 * Two files that say the same thing normalise to the same value (an identical re-import is
 * recognised whatever the order of its lists). Pure.
 */
export function normalizeCalendar(c: Calendar): Calendar {
  return {
    name: c.name,
    timezone: c.timezone,
    open: c.open,
    close: c.close,
    weekdays: [...c.weekdays].sort((a, b) => a - b),
    holidays: byDate(c.holidays).map(({ date, name }) => ({ date, name })),
    earlyCloses: byDate(c.earlyCloses).map(({ date, close, name }) => ({ date, close, name })),
    lateOpens: byDate(c.lateOpens).map(({ date, open, name }) => ({ date, open, name })),
    ...(c.from !== undefined && { from: c.from }),
    ...(c.to !== undefined && { to: c.to }),
  };
}

/** Whether two calendars say the same thing (compared in normal form). Pure. */
export function sameCalendar(a: Calendar, b: Calendar): boolean {
  return JSON.stringify(normalizeCalendar(a)) === JSON.stringify(normalizeCalendar(b));
}

/**
 * A calendar was imported with changes: the full data of its next version. Versions count from
 * 1 without gaps (the machine's guard), and each stays readable: nothing is ever overwritten.
 */
export const CalendarImportedSchema = eventSchema(
  'calendar.imported',
  1,
  z.object({
    version: z.number().int().positive(),
    calendar: CalendarSchema,
  }),
);

export const calendarEventSchemas = [CalendarImportedSchema] as const;

export type CalendarEvent = z.infer<(typeof calendarEventSchemas)[number]>;
