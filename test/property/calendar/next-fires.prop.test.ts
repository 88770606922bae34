import { fc, test } from '@fast-check/vitest';
import { Cron } from 'croner';
import { describe, expect } from 'vitest';
import type { Calendar } from '../../../src/events/index.js';
import {
  DAY_MS,
  dayNumber,
  isSession,
  isoInZone,
  localDate,
  nextFires,
  sessions,
  zoneClock,
  type CalendarVersion,
  type Schedule,
} from '../../../src/policy/calendar/index.js';
import { calendarArb, dateArb, timeArb, zoneArb } from '../../support/calendar-arbitraries.js';

const T2016 = Date.UTC(2016, 0, 1);
const T2017 = Date.UTC(2017, 0, 1);
/** An instant in 2015-12 .. 2016-12. */
const fromArb = fc.integer({ min: T2016 - 30 * DAY_MS, max: T2017 - 1 });
const cronArb = fc.constantFrom(
  '30 2 * * *',
  '0 6 * * 1-5',
  '*/20 9-16 * * *',
  '15 1 * * 0',
  '0 0 1 * *',
);
const atArb = fc.oneof(
  timeArb(),
  fc.constantFrom('open', 'close', 'open-30m', 'close+15m', 'open+2h', 'close-90m'),
);

/** A schedule of every kind over a random calendar (version 1). */
const caseArb = fc
  .record({ calendar: calendarArb, kind: fc.constantFrom('cron', 'session', 'cron+calendar') })
  .chain(({ calendar, kind }) =>
    fc.record({
      cal: fc.constant<CalendarVersion>({ version: 1, calendar }),
      schedule: (kind === 'cron'
        ? fc.record({ cron: cronArb, timezone: zoneArb })
        : kind === 'session'
          ? fc.record({ calendar: fc.constant(calendar.name), at: atArb })
          : fc.record({
              cron: cronArb,
              calendar: fc.constant(calendar.name),
            })) as fc.Arbitrary<Schedule>,
      from: fromArb,
      count: fc.integer({ min: 1, max: 30 }),
    }),
  );
const calOf = (c: { schedule: Schedule; cal: CalendarVersion }) =>
  c.schedule.calendar !== undefined ? c.cal : undefined;

/** Every day a session, so DST Sundays have one (America/New_York). */
const everyDay: Calendar = {
  name: 'EVERY-DAY',
  timezone: 'America/New_York',
  open: '09:30',
  close: '16:00',
  weekdays: [1, 2, 3, 4, 5, 6, 7],
  holidays: [],
  earlyCloses: [],
  lateOpens: [],
  from: '2016-01-01',
  to: '2016-12-31',
};
const NY = 'America/New_York';

describe('nextFires', () => {
  test.prop([caseArb])('fires strictly increase, at or after from', (c) => {
    const fires = nextFires(c.schedule, calOf(c), c.from, c.count);
    expect(fires.length).toBeLessThanOrEqual(c.count);
    fires.forEach((f, i) => {
      expect(f.at).toBeGreaterThanOrEqual(c.from);
      if (i > 0) expect(f.at).toBeGreaterThan(fires[i - 1]!.at);
    });
  });

  test.prop([caseArb])('with a calendar, every fire is on a session day (never a holiday)', (c) => {
    const cal = calOf(c);
    if (!cal) return;
    const holidays = new Set(cal.calendar.holidays.map((h) => h.date));
    for (const f of nextFires(c.schedule, cal, c.from, c.count)) {
      const day = c.schedule.cron !== undefined ? localDate(f.at, cal.calendar.timezone) : f.date;
      expect(isSession(cal.calendar, day), day).toBe(true);
      expect(holidays.has(day)).toBe(false);
      expect(f.calendarVersion).toBe(1);
    }
  });

  test.prop([caseArb])(
    'is consistent with chaining: each fire is the next after the previous + 1 ms',
    (c) => {
      const cal = calOf(c);
      const fires = nextFires(c.schedule, cal, c.from, c.count);
      let t = c.from;
      for (const f of fires) {
        const [next] = nextFires(c.schedule, cal, t, 1);
        expect(next).toEqual(f);
        t = f.at + 1;
      }
    },
  );

  test.prop([
    fc.integer({ min: Date.UTC(2016, 2, 1), max: Date.UTC(2016, 2, 13, 6, 59) }),
    fc.boolean(),
  ])(
    'a daily 02:30 in New York fires once on the spring-forward day, at 03:00 local',
    (from, viaCalendar) => {
      const schedule: Schedule = viaCalendar
        ? { calendar: everyDay.name, at: '02:30' }
        : { cron: '30 2 * * *', timezone: NY };
      const cal = viaCalendar ? { version: 1, calendar: everyDay } : undefined;
      const fires = nextFires(schedule, cal, from, 40).filter((f) => f.date === '2016-03-13');
      expect(fires).toHaveLength(1);
      expect(isoInZone(fires[0]!.at, NY)).toBe('2016-03-13T03:00:00-04:00');
    },
  );

  test.prop([
    fc.integer({ min: Date.UTC(2016, 9, 25), max: Date.UTC(2016, 10, 6, 5, 29) }),
    fc.boolean(),
  ])(
    'a daily 01:30 in New York fires once on the fall-back day, at the first 01:30',
    (from, viaCalendar) => {
      const schedule: Schedule = viaCalendar
        ? { calendar: everyDay.name, at: '01:30' }
        : { cron: '30 1 * * *', timezone: NY };
      const cal = viaCalendar ? { version: 1, calendar: everyDay } : undefined;
      const fires = nextFires(schedule, cal, from, 40).filter((f) => f.date === '2016-11-06');
      expect(fires).toHaveLength(1);
      expect(isoInZone(fires[0]!.at, NY)).toBe('2016-11-06T01:30:00-04:00');
    },
  );

  test.prop([calendarArb, fromArb])(
    "close+15m follows each day's close, early closes included",
    (calendar, from) => {
      const cal = { version: 1, calendar };
      const early = new Map(calendar.earlyCloses.map((e) => [e.date, e.close]));
      for (const f of nextFires({ calendar: calendar.name, at: 'close+15m' }, cal, from, 40)) {
        const close = isoInZone(f.at - 15 * 60_000, calendar.timezone).slice(11, 16);
        expect(close).toBe(early.get(f.date) ?? calendar.close);
        const [session] = sessions(calendar, f.date, f.date);
        expect(f.at).toBe(session!.closeAt + 15 * 60_000);
      }
    },
  );
});

describe('zoneClock', () => {
  test.prop([zoneArb, dateArb('1990-01-01', '2037-12-31'), timeArb()])(
    "gives croner's instant for every wall-clock time (quiet days by offset, DST days by croner)",
    (zone, date, time) => {
      const pattern = `${Number(time.slice(3))} ${Number(time.slice(0, 2))} ${Number(date.slice(8))} ${Number(date.slice(5, 7))} *`;
      const start = new Date(dayNumber(date) * DAY_MS - 14 * 3_600_000);
      const expected = new Cron(pattern, { timezone: zone }).nextRun(start)!.getTime();
      expect(zoneClock(zone).instant(date, time)).toBe(expected);
    },
  );

  test.prop([
    fc.constantFrom(
      '2016-03-13',
      '2016-11-06',
      '2016-03-27',
      '2016-10-30',
      '2016-04-03',
      '2016-10-02',
    ),
    timeArb(0, 4),
    zoneArb,
  ])('agrees with croner on DST-change days too', (date, time, zone) => {
    const pattern = `${Number(time.slice(3))} ${Number(time.slice(0, 2))} ${Number(date.slice(8))} ${Number(date.slice(5, 7))} *`;
    const start = new Date(dayNumber(date) * DAY_MS - 14 * 3_600_000);
    const expected = new Cron(pattern, { timezone: zone }).nextRun(start)!.getTime();
    expect(zoneClock(zone).instant(date, time)).toBe(expected);
  });
});
