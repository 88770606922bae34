import { Cron } from 'croner';

/**
 * Dates, wall-clock times and instants in IANA zones. Pure: offsets come from `Intl` (the
 * runtime's tz database), and whenever an offset changes near a day the answer comes from
 * croner, which resolves the hour that does not exist (spring forward: the next valid instant)
 * and the hour that happens twice (fall back: the first). No time-zone rule is written here.
 */

/** A day in milliseconds (calendar dates are counted in UTC days: no zone involved). */
export const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. Pure. */
export function dayNumber(date: string): number {
  return (
    Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) /
    DAY_MS
  );
}

/** The `YYYY-MM-DD` of a day number. Pure. */
export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** ISO weekday of a day number: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). Pure. */
export function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

/** `date` moved by `days`. Pure. */
export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date) + days);
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const OFFSET = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * The zone's UTC offset at instant `t`, in ms (New York in July: -4 h), as `Intl` reports it.
 * Pure (the formatter per zone is cached; it holds no state between calls).
 */
export function offsetAt(zone: string, t: number): number {
  let f = offsetFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, f);
  }
  const m = OFFSET.exec(f.format(t));
  if (!m) throw new RangeError(`no UTC offset for ${zone} at ${t}`);
  if (m[1] === undefined) return 0;
  const ms = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4] ?? 0)) * 1000;
  return m[1] === '-' ? -ms : ms;
}

/** `+HH:MM` / `-HH:MM` of an offset in ms. Pure. */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const min = Math.round(Math.abs(ms) / 60_000);
  return `${sign}${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** The local `YYYY-MM-DD` of instant `t` in `zone`. Pure. */
export function localDate(t: number, zone: string): string {
  return new Date(t + offsetAt(zone, t)).toISOString().slice(0, 10);
}

/** Instant `t` as ISO 8601 with the zone's offset then: `2016-03-14T09:30:00-04:00`. Pure. */
export function isoInZone(t: number, zone: string): string {
  return isoWithOffset(t, offsetAt(zone, t));
}

const crons = new Map<string, Cron>();
/** Croner's answer: the first instant at `time` on `date` in `zone` (gap: the next valid one). */
function viaCroner(date: string, time: string, zone: string): number {
  const key = `${zone} ${time} ${date.slice(5)}`;
  let cron = crons.get(key);
  if (!cron) {
    const [h, m] = [Number(time.slice(0, 2)), Number(time.slice(3, 5))];
    const pattern = `${m} ${h} ${Number(date.slice(8, 10))} ${Number(date.slice(5, 7))} *`;
    cron = new Cron(pattern, { timezone: zone });
    crons.set(key, cron);
  }
  // Local midnight of `date` lies at most 14 h before its UTC midnight and the pattern matches
  // once a year, so the first match after this start is on `date` itself.
  const next = cron.nextRun(new Date(dayNumber(date) * DAY_MS - 14 * 3_600_000));
  if (!next) throw new RangeError(`no ${time} on ${date} in ${zone}`);
  return next.getTime();
}

/**
 * Converts wall-clock times to instants in one zone, remembering the offsets it asked `Intl`
 * for (one per UTC midnight), so consecutive days cost about one `Intl` call each. Pure: the
 * memo lives as long as the converter and changes no answer.
 */
export interface ZoneClock {
  readonly zone: string;
  /** The instant of wall-clock `time` (`HH:MM`) on `date` (`YYYY-MM-DD`) in the zone. */
  instant(date: string, time: string): number;
  /** The same instant with the zone's offset at it (ms), for ISO strings without another lookup. */
  zoned(date: string, time: string): { readonly at: number; readonly offset: number };
}

/** An instant with its offset as ISO 8601: `2016-03-14T09:30:00-04:00`. Pure. */
export function isoWithOffset(at: number, offset: number): string {
  return new Date(at + offset).toISOString().slice(0, 19) + formatOffset(offset);
}

/**
 * A converter for `zone`. On a day whose offset is the same from the UTC midnight before it to
 * the one two days later (every day but the few around a change) the instant is the wall time
 * minus that offset. Near a change, a wall time that exists exactly once is found the same way
 * with the offset before or after it; one in the missing or the doubled hour is croner's (the
 * missing hour fires at the next valid instant, the doubled hour once, at its first
 * occurrence). A property test pins every path to croner. Pure.
 */
export function zoneClock(zone: string): ZoneClock {
  const memo = new Map<number, number>();
  const offsetOfDay = (day: number) => {
    let o = memo.get(day);
    if (o === undefined) memo.set(day, (o = offsetAt(zone, day * DAY_MS)));
    return o;
  };
  const zoned = (date: string, time: string) => {
    const day = dayNumber(date);
    const o = offsetOfDay(day);
    const quiet =
      offsetOfDay(day - 1) === o && offsetOfDay(day + 1) === o && offsetOfDay(day + 2) === o;
    const wall = day * DAY_MS + (Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5))) * 60_000;
    if (quiet) return { at: wall - o, offset: o };
    // Near a change: the wall time minus the offset before it and minus the one after. When
    // exactly one of them reads back as that wall time, the time exists once: that is the answer.
    // Otherwise it falls in the gap or the doubled hour, and croner decides.
    const before = offsetOfDay(day - 1);
    const after = offsetOfDay(day + 2);
    const validBefore = offsetAt(zone, wall - before) === before;
    const validAfter = offsetAt(zone, wall - after) === after;
    if (before !== after && validBefore !== validAfter) {
      const offset = validBefore ? before : after;
      return { at: wall - offset, offset };
    }
    const at = viaCroner(date, time, zone);
    return { at, offset: offsetAt(zone, at) };
  };
  return { zone, zoned, instant: (date, time) => zoned(date, time).at };
}
