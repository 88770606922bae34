import { calendarBehaviour, latestCalendar, stateName } from '../actors/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import {
  calendarCoverage,
  dayNumber,
  describeIssues,
  parseCalendar,
  sessions,
} from '../policy/calendar/index.js';
import { actorOf, metaOf, requireAdmin, type Handler } from './api-context.js';
import { RequestSchemas, parseRequest } from './protocol.js';
import type { CalendarRow, SessionView } from './views.js';

/** The longest range `calendar sessions` answers (a century of days). */
const MAX_SESSION_DAYS = 36_600;

/**
 * `drover.api.calendar.import` (admins): validate the calendar (every problem named by its path,
 * BAD_INPUT), then `ImportCalendar` through the calendar's machine: the next version when it
 * differs from the latest, nothing when identical. Answers `{ name, version, changed }` once the
 * read model holds it, so a `calendar list` right after sees it.
 */
export const calendarImport: Handler = async (ctx, req) => {
  requireAdmin(req.caller, 'calendar import');
  const r = parseRequest('calendar import request', RequestSchemas['calendar.import'], req.body);
  const parsed = parseCalendar(r.calendar);
  if (!parsed.ok) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `invalid calendar: ${describeIssues(parsed.issues)}`,
      { details: { issues: parsed.issues } },
    );
  }
  const { name } = parsed.calendar;
  const out = await ctx.runtime.execute(calendarBehaviour, name, {
    type: 'ImportCalendar',
    ...metaOf(ctx, req, actorOf(req.caller, r.by), 'calendar-import'),
    data: { calendar: parsed.calendar },
  });
  if (!out.ok) throw new SchedulerError(ErrorCodes.Refused, out.rejection.message);
  await ctx.live.reach(out.lastSeq);
  return { name, version: latestCalendar(out.state).version, changed: out.events.length > 0 };
};

/** `drover.api.calendar.list`: each calendar's latest version, zone and covered dates. */
export const calendarList: Handler = async (ctx, req) => {
  parseRequest('calendar list request', RequestSchemas['calendar.list'], req.body);
  const calendars: CalendarRow[] = [];
  for (const [name, snapshot] of ctx.live.model.calendars) {
    const { version, calendar } = latestCalendar(snapshot);
    if (!calendar) continue;
    const cover = calendarCoverage(calendar);
    calendars.push({
      name,
      version,
      timezone: calendar.timezone,
      from: cover?.from ?? null,
      to: cover?.to ?? null,
    });
  }
  calendars.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { calendars };
};

/**
 * `drover.api.calendar.sessions`: the sessions of a calendar version (default the latest) from
 * `from` to `to`, both included, clipped to the dates it covers. Read fresh from the log (the
 * truth), so an import answered a moment ago is always seen. NOT_FOUND for an unknown calendar
 * or version.
 */
export const calendarSessions: Handler = async (ctx, req) => {
  const r = parseRequest(
    'calendar sessions request',
    RequestSchemas['calendar.sessions'],
    req.body,
  );
  if (r.from > r.to)
    throw new SchedulerError(ErrorCodes.BadInput, `to: ${r.to} is before from ${r.from}`);
  if (dayNumber(r.to) - dayNumber(r.from) >= MAX_SESSION_DAYS)
    throw new SchedulerError(ErrorCodes.BadInput, `from/to: more than ${MAX_SESSION_DAYS} days`);
  const loaded = await ctx.runtime.load(calendarBehaviour, r.name);
  if (stateName(loaded.state) === 'none')
    throw new SchedulerError(ErrorCodes.NotFound, `no calendar ${r.name}`);
  const latest = latestCalendar(loaded.state).version;
  const version = r.version ?? latest;
  const calendar = loaded.state.context.versions[version - 1];
  if (!calendar) {
    throw new SchedulerError(
      ErrorCodes.NotFound,
      `calendar ${r.name} has no version ${version} (latest ${latest})`,
    );
  }
  const list: SessionView[] = sessions(calendar, r.from, r.to).map(({ date, open, close }) => ({
    date,
    open,
    close,
  }));
  return { name: r.name, version, sessions: list };
};
