import fc from 'fast-check';
import type { Calendar } from '../../src/events/index.js';
import { dateOfDay, dayNumber } from '../../src/policy/calendar/index.js';

/** Zones with DST both ways, none, and a half-hour offset. */
export const ZONES = [
  'America/New_York',
  'America/Chicago',
  'Europe/London',
  'Australia/Sydney',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'UTC',
] as const;

export const zoneArb = fc.constantFrom(...ZONES);

/** A `YYYY-MM-DD` between `from` and `to` (both included). */
export const dateArb = (from = '2015-01-01', to = '2018-12-31'): fc.Arbitrary<string> =>
  fc.integer({ min: dayNumber(from), max: dayNumber(to) }).map(dateOfDay);

/** `HH:MM` with hours in [lo, hi]. */
export const timeArb = (lo = 0, hi = 23): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

const label = fc.constantFrom('Holiday', 'Early close', 'Late open', 'Day before');

/**
 * A valid calendar (schema and cross-field rules): a session of 09:30–16:00 or 08:00–17:00 in
 * one of `ZONES`, random weekdays, holidays, early closes (12:00–13:59) and late opens
 * (10:00–11:59) on distinct dates of 2016, covering 2016.
 */
export const calendarArb: fc.Arbitrary<Calendar> = fc
  .record({
    timezone: zoneArb,
    hours: fc.constantFrom(['09:30', '16:00'] as const, ['08:00', '17:00'] as const),
    weekdays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
    dates: fc.uniqueArray(dateArb('2016-01-01', '2016-12-31'), { maxLength: 40 }),
    kinds: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 40, maxLength: 40 }),
    closes: fc.array(timeArb(12, 13), { minLength: 40, maxLength: 40 }),
    opens: fc.array(timeArb(10, 11), { minLength: 40, maxLength: 40 }),
    name: label,
  })
  .map(({ timezone, hours, weekdays, dates, kinds, closes, opens, name }) => {
    const c: Calendar = {
      name: 'TEST-CAL',
      timezone,
      open: hours[0],
      close: hours[1],
      weekdays: [...weekdays].sort((a, b) => a - b),
      holidays: [],
      earlyCloses: [],
      lateOpens: [],
      from: '2016-01-01',
      to: '2016-12-31',
    };
    dates.sort().forEach((date, i) => {
      const kind = kinds[i] ?? 0;
      if (kind === 0) c.holidays.push({ date, name });
      if (kind === 1 || kind === 3) c.earlyCloses.push({ date, close: closes[i] ?? '13:00', name });
      if (kind === 2 || kind === 3) c.lateOpens.push({ date, open: opens[i] ?? '10:00', name });
    });
    return c;
  });
