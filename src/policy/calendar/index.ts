/**
 * Trading calendars and schedule timing (issue 17), pure: sessions of a calendar version over a
 * date range and the next fire times of a schedule, with time passed in. Offsets come from
 * `Intl`, cron and the hours DST removes or doubles from croner; no zone rule is written here.
 */
export {
  calendarCoverage,
  calendarProblems,
  describeIssues,
  formatPath,
  parseCalendar,
} from './calendar-data.js';
export type { ParsedCalendar } from './calendar-data.js';
export { isSession, sessions, sessionsFrom } from './sessions.js';
export type { Session } from './sessions.js';
export { MAX_FIRES, nextFires, parseAt, scheduleProblem } from './next-fires.js';
export type { CalendarVersion, Fire, Schedule } from './next-fires.js';
export {
  DAY_MS,
  addDays,
  dateOfDay,
  dayNumber,
  isoInZone,
  isoWithOffset,
  isoWeekday,
  localDate,
  offsetAt,
  zoneClock,
} from './zoned-time.js';
export type { ZoneClock } from './zoned-time.js';
