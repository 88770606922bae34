import type { Calendar } from '../../events/index.js';
import { calendarCoverage } from './calendar-data.js';
import {
  dateOfDay,
  dayNumber,
  isoWithOffset,
  isoWeekday,
  zoneClock,
  type ZoneClock,
} from './zoned-time.js';

/**
 * One trading session (CONTRACT `calendar sessions`): `open`/`close` are ISO 8601 with the
 * calendar's offset on that date; `openAt`/`closeAt` the same instants in epoch ms.
 */
export interface Session {
  readonly date: string;
  readonly open: string;
  readonly close: string;
  readonly openAt: number;
  readonly closeAt: number;
}

/** A calendar indexed for lookups by date (built once per calendar object). */
interface Indexed {
  readonly holidays: ReadonlySet<string>;
  readonly early: ReadonlyMap<string, string>;
  readonly late: ReadonlyMap<string, string>;
  readonly weekdays: ReadonlySet<number>;
  /** Day numbers of the first and last covered date (empty range when nothing is covered). */
  readonly fromDay: number;
  readonly toDay: number;
}

const indexes = new WeakMap<Calendar, Indexed>();
function indexOf(c: Calendar): Indexed {
  let ix = indexes.get(c);
  if (!ix) {
    const cover = calendarCoverage(c);
    ix = {
      holidays: new Set(c.holidays.map((h) => h.date)),
      early: new Map(c.earlyCloses.map((e) => [e.date, e.close])),
      late: new Map(c.lateOpens.map((e) => [e.date, e.open])),
      weekdays: new Set(c.weekdays),
      fromDay: cover ? dayNumber(cover.from) : 1,
      toDay: cover ? dayNumber(cover.to) : 0,
    };
    indexes.set(c, ix);
  }
  return ix;
}

function isSessionDay(ix: Indexed, day: number, date: string): boolean {
  return (
    day >= ix.fromDay &&
    day <= ix.toDay &&
    ix.weekdays.has(isoWeekday(day)) &&
    !ix.holidays.has(date)
  );
}

/**
 * Whether `date` (`YYYY-MM-DD`, in the calendar's zone) has a session: a trading weekday, not a
 * holiday, and inside the dates the calendar covers (`calendarCoverage`): outside them the
 * holidays are unknown, so no day there is taken for a session. Pure.
 */
export function isSession(calendar: Calendar, date: string): boolean {
  return isSessionDay(indexOf(calendar), dayNumber(date), date);
}

function sessionOn(c: Calendar, ix: Indexed, clock: ZoneClock, date: string): Session {
  const open = clock.zoned(date, ix.late.get(date) ?? c.open);
  const close = clock.zoned(date, ix.early.get(date) ?? c.close);
  return {
    date,
    open: isoWithOffset(open.at, open.offset),
    close: isoWithOffset(close.at, close.offset),
    openAt: open.at,
    closeAt: close.at,
  };
}

function* between(calendar: Calendar, fromDay: number, toDay: number): Generator<Session> {
  const ix = indexOf(calendar);
  const clock = zoneClock(calendar.timezone);
  const last = Math.min(toDay, ix.toDay);
  for (let day = Math.max(fromDay, ix.fromDay); day <= last; day++) {
    const date = dateOfDay(day);
    if (isSessionDay(ix, day, date)) yield sessionOn(calendar, ix, clock, date);
  }
}

/**
 * The sessions from `fromDate` on, in date order, lazily, up to the end of the calendar's
 * coverage (late opens and early closes applied, holidays absent). Pure.
 */
export function sessionsFrom(calendar: Calendar, fromDate: string): Generator<Session> {
  return between(calendar, dayNumber(fromDate), Number.POSITIVE_INFINITY);
}

/**
 * The sessions of `calendar` from `from` to `to` (`YYYY-MM-DD`, both included), clipped to the
 * dates the calendar covers. Pure.
 * @example sessions(xnys, '2016-03-24', '2016-03-28')
 * // [{ date: '2016-03-24', open: '2016-03-24T09:30:00-04:00', close: '2016-03-24T16:00:00-04:00', ... },
 * //  { date: '2016-03-28', ... }]  (Good Friday, the weekend: no session)
 */
export function sessions(calendar: Calendar, from: string, to: string): Session[] {
  return [...between(calendar, dayNumber(from), dayNumber(to))];
}
