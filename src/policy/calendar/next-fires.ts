import { Cron } from 'croner';
import type { Calendar } from '../../events/index.js';
import { calendarCoverage } from './calendar-data.js';
import { isSession, sessionsFrom, type Session } from './sessions.js';
import { addDays, localDate, zoneClock } from './zoned-time.js';

/**
 * A workflow's schedule as CONTRACT "Workflows and schedules" states it (the timing part):
 * - `cron` (croner syntax) in `timezone` (default: the calendar's zone, else UTC); with a
 *   `calendar`, only the cron instants that fall on a session day of it;
 * - `calendar` with `at`: every session of the calendar, at a wall-clock time in the calendar's
 *   zone (`"06:00"`) or relative to that session's open or close (`"open-30m"`, `"close+15m"`,
 *   `"open"`), with the day's late open or early close applied;
 * - `at: "HH:MM"` alone: every day at that time in `timezone` (default UTC).
 */
export interface Schedule {
  readonly cron?: string;
  readonly timezone?: string;
  readonly calendar?: string;
  readonly at?: string;
}

/** The calendar a schedule reads, at the version that decides its fires. */
export interface CalendarVersion {
  readonly version: number;
  readonly calendar: Calendar;
}

/** One fire: the instant, the run's logical date and the calendar version that decided it. */
export interface Fire {
  readonly at: number;
  /** `YYYY-MM-DD` in the schedule's zone; for a session schedule, the session's date. */
  readonly date: string;
  readonly calendarVersion?: number;
}

const WALL = /^([01]\d|2[0-3]):([0-5]\d)$/;
const RELATIVE = /^(open|close)(?:([+-])(\d{1,3})(m|h))?$/;
/** How far from a session's open or close a fire may sit (within the session's own day). */
const MAX_SHIFT_MIN = 12 * 60;
/** The most fires one call computes. */
export const MAX_FIRES = 10_000;

type At =
  | { readonly kind: 'wall'; readonly time: string }
  | { readonly kind: 'relative'; readonly anchor: 'open' | 'close'; readonly shiftMs: number };

/** Read `at`: `HH:MM`, or `open`/`close` shifted by `±Nm` / `±Nh`. Pure. */
export function parseAt(at: string): At | string {
  if (WALL.test(at)) return { kind: 'wall', time: at };
  const m = RELATIVE.exec(at);
  if (!m) return `at: expected HH:MM, open±Nm or close±Nm, got ${JSON.stringify(at)}`;
  const n = Number(m[3] ?? 0) * (m[4] === 'h' ? 60 : 1);
  if (n > MAX_SHIFT_MIN) return `at: ${at} is more than 12h from the ${m[1]}`;
  const shiftMs = (m[2] === '-' ? -n : n) * 60_000;
  return { kind: 'relative', anchor: m[1] as 'open' | 'close', shiftMs };
}

function cronOf(pattern: string, timezone: string): Cron | string {
  try {
    return new Cron(pattern, { timezone });
  } catch (err) {
    return `cron: ${(err as Error).message}`;
  }
}

/**
 * What is wrong with a schedule given this calendar, in words; undefined when it can fire.
 * Pure. `nextFires` throws a `RangeError` with these words on such a schedule.
 */
export function scheduleProblem(s: Schedule, cal: CalendarVersion | undefined): string | undefined {
  if (s.calendar !== undefined && cal === undefined) return `calendar ${s.calendar} not given`;
  if (cal && s.calendar !== cal.calendar.name)
    return `calendar: the schedule reads ${s.calendar ?? 'none'}, not ${cal.calendar.name}`;
  if (s.cron !== undefined && s.at !== undefined) return 'cron and at: give one of them';
  if (s.cron === undefined && s.at === undefined) return 'a schedule needs cron or at';
  if (s.timezone !== undefined) {
    const bad = cronOf('0 0 * * *', s.timezone);
    if (typeof bad === 'string') return `timezone: unknown zone ${s.timezone}`;
  }
  if (s.cron !== undefined) {
    const c = cronOf(s.cron, s.timezone ?? 'UTC');
    return typeof c === 'string' ? c : undefined;
  }
  const at = parseAt(s.at as string);
  if (typeof at === 'string') return at;
  if (at.kind === 'relative' && !cal) return `at: ${s.at} needs a calendar`;
  return undefined;
}

/**
 * The next `count` fires of a schedule at or after `from` (epoch ms), strictly increasing.
 * Pure: the same (schedule, calendar version, from) always gives the same fires, so a restarted
 * or standby scheduler computes exactly what the leader did. Consistent with chaining: the
 * fires of `nextFires(s, c, t, n)` are those of calling it with count 1 from each previous
 * fire + 1 ms. With a calendar, nothing fires outside the dates it covers (its holidays there
 * are unknown), so fewer than `count` may come back. DST (America/New_York): a daily 02:30 fires
 * once on the spring-forward day, at 03:00 local; a 01:30 fires once on the fall-back day, at
 * the first 01:30 (EDT).
 * @example nextFires({ calendar: 'XNYS-2016', at: 'close+15m' }, { version: 1, calendar: xnys },
 *   Date.parse('2016-11-25T00:00:00Z'), 1) // [{ at: <13:15 EST>, date: '2016-11-25', calendarVersion: 1 }]
 */
export function nextFires(
  schedule: Schedule,
  cal: CalendarVersion | undefined,
  from: number,
  count: number,
): Fire[] {
  const problem = scheduleProblem(schedule, cal);
  if (problem) throw new RangeError(`schedule: ${problem}`);
  const n = Math.max(0, Math.min(Math.floor(count), MAX_FIRES));
  if (n === 0) return [];
  if (schedule.cron !== undefined) return cronFires(schedule, schedule.cron, cal, from, n);
  const at = parseAt(schedule.at as string) as At;
  if (cal) return sessionFires(at, cal, from, n);
  const zone = schedule.timezone ?? 'UTC';
  const time = (at as { time: string }).time;
  const daily = `${Number(time.slice(3))} ${Number(time.slice(0, 2))} * * *`;
  return cronFires({ timezone: zone }, daily, undefined, from, n);
}

function cronFires(
  s: Schedule,
  pattern: string,
  cal: CalendarVersion | undefined,
  from: number,
  n: number,
): Fire[] {
  const zone = s.timezone ?? cal?.calendar.timezone ?? 'UTC';
  const cron = new Cron(pattern, { timezone: zone });
  const lastDate = cal ? calendarCoverage(cal.calendar)?.to : undefined;
  if (cal && lastDate === undefined) return [];
  const clock = cal ? zoneClock(cal.calendar.timezone) : undefined;
  const out: Fire[] = [];
  // croner answers strictly after its start (whole seconds): from - 1 ms makes `from` inclusive.
  let next = cron.nextRun(new Date(from - 1));
  while (next && out.length < n) {
    const at = next.getTime();
    if (cal && clock) {
      const day = localDate(at, cal.calendar.timezone);
      if (lastDate !== undefined && day > lastDate) break;
      if (!isSession(cal.calendar, day)) {
        // Skip to the next session day's first instant: no cron instant before it can fire.
        const session = sessionsFrom(cal.calendar, addDays(day, 1)).next();
        if (session.done) break;
        next = cron.nextRun(new Date(clock.instant(session.value.date, '00:00') - 1));
        continue;
      }
      out.push({ at, date: localDate(at, zone), calendarVersion: cal.version });
    } else out.push({ at, date: localDate(at, zone) });
    next = cron.nextRun(next);
  }
  return out;
}

function fireOf(at: At, session: Session, clock: ReturnType<typeof zoneClock>): number {
  if (at.kind === 'wall') return clock.instant(session.date, at.time);
  return (at.anchor === 'open' ? session.openAt : session.closeAt) + at.shiftMs;
}

function sessionFires(at: At, cal: CalendarVersion, from: number, n: number): Fire[] {
  const zone = cal.calendar.timezone;
  const clock = zoneClock(zone);
  // A fire sits within 12 h of its session's day, so the session of the day before `from`'s
  // local date is the earliest that may still fire at or after `from`.
  const start = addDays(localDate(from, zone), -1);
  const out: Fire[] = [];
  for (const session of sessionsFrom(cal.calendar, start)) {
    const t = fireOf(at, session, clock);
    if (t < from) continue;
    out.push({ at: t, date: session.date, calendarVersion: cal.version });
    if (out.length >= n) break;
  }
  return out;
}
