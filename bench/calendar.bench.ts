// The cost of `calendar sessions` over ten years of a calendar (issue 17: "measure the cost of
// calendar sessions over ten years"). Prints one JSON document. Pure computation, no server.
//
// - `sessionsMs`: `sessions(calendar, 2016-01-01, 2025-12-31)` on a fresh copy of a generated
//   10-year NYSE-like calendar (America/New_York, 9 holidays and 1 early close a year), so the
//   per-calendar index is built each time, as the API does for a freshly loaded version.
// - `rawIntlLoopMs`: the ceiling: a bare loop over the same 3,653 days with one
//   `Intl.DateTimeFormat` offset lookup per day and the two ISO strings built from it (no
//   holidays, no weekday rules, no DST-day care): what any Intl-based answer must at least pay.
// - `nextFiresMs`: `nextFires` of 2,500 `close+15m` fires over the same calendar.
// Median of alternating pairs; ratio = raw / ours (1 would be as fast as the bare loop).
import { performance } from 'node:perf_hooks';
import type { Calendar } from '../src/events/index.js';
import {
  DAY_MS,
  dateOfDay,
  dayNumber,
  isoWeekday,
  nextFires,
  sessions,
} from '../src/policy/calendar/index.js';
import { paired, ratio } from './support.js';

const FROM = '2016-01-01';
const TO = '2025-12-31';
const ZONE = 'America/New_York';

function tenYears(): Calendar {
  const holidays: Calendar['holidays'] = [];
  const earlyCloses: Calendar['earlyCloses'] = [];
  for (let y = 2016; y <= 2025; y++) {
    for (const md of [
      '01-01',
      '01-18',
      '02-15',
      '03-25',
      '05-30',
      '07-04',
      '09-05',
      '11-24',
      '12-26',
    ]) {
      const date = `${y}-${md}`;
      if (isoWeekday(dayNumber(date)) <= 5) holidays.push({ date, name: 'holiday' });
    }
    const friday = `${y}-11-25`;
    if (isoWeekday(dayNumber(friday)) <= 5 && !holidays.some((h) => h.date === friday))
      earlyCloses.push({ date: friday, close: '13:00', name: 'early close' });
  }
  return {
    name: 'XNYS-10Y',
    timezone: ZONE,
    open: '09:30',
    close: '16:00',
    weekdays: [1, 2, 3, 4, 5],
    holidays,
    earlyCloses,
    lateOpens: [],
  };
}

const calendar = tenYears();
const offsetFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: ZONE,
  timeZoneName: 'longOffset',
});

function rawLoop(): number {
  let n = 0;
  for (let day = dayNumber(FROM); day <= dayNumber(TO); day++) {
    const offset = offsetFormat.format(day * DAY_MS + 12 * 3_600_000).slice(-6);
    const date = dateOfDay(day);
    const open = `${date}T09:30:00${offset}`;
    const close = `${date}T16:00:00${offset}`;
    n += open.length + close.length;
  }
  return n;
}

const time = (fn: () => unknown) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};

const count = sessions(structuredClone(calendar), FROM, TO).length;
for (let i = 0; i < 3; i++) {
  rawLoop();
  sessions(structuredClone(calendar), FROM, TO);
}
const s = await paired(
  9,
  async () => time(rawLoop),
  async () => time(() => sessions(structuredClone(calendar), FROM, TO)),
);
const warm = await paired(
  9,
  async () => time(rawLoop),
  async () => time(() => sessions(calendar, FROM, TO)),
);
const from = Date.UTC(2016, 0, 1);
const fires = await paired(
  5,
  async () => time(rawLoop),
  async () =>
    time(() =>
      nextFires(
        { calendar: calendar.name, at: 'close+15m' },
        { version: 1, calendar },
        from,
        2_500,
      ),
    ),
);
const round = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    days: dayNumber(TO) - dayNumber(FROM) + 1,
    sessions: count,
    sessionsMs: round(s.ours),
    sessionsWarmIndexMs: round(warm.ours),
    rawIntlLoopMs: round(s.raw),
    rawOverOurs: ratio(s.raw, s.ours),
    usPerSession: round((s.ours * 1000) / count),
    nextFires2500Ms: round(fires.ours),
    node: process.version,
  }),
);
