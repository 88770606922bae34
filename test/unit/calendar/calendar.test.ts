import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { calendarBehaviour, latestCalendar, stateName } from '../../../src/actors/index.js';
import type { Calendar } from '../../../src/events/index.js';
import {
  calendarCoverage,
  isSession,
  parseCalendar,
  sessions,
} from '../../../src/policy/calendar/index.js';
import { deciderSpec, ev, meta } from '../../support/decider-spec.js';

const admin = { kind: 'admin', id: 'ops' } as const;
const load = (name: string): Calendar => {
  const text = readFileSync(new URL(`../../../calendars/${name}.yaml`, import.meta.url), 'utf8');
  const r = parseCalendar(parse(text));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.calendar;
};
const base = {
  name: 'T',
  timezone: 'America/New_York',
  open: '09:30',
  close: '16:00',
  holidays: [{ date: '2016-01-01', name: 'New Year' }],
};

describe('calendar files', () => {
  it('name the offending path', () => {
    const bad = {
      ...base,
      holidays: [
        ...base.holidays,
        { date: '2016-07-04', name: 'x' },
        { date: '2016-13-01', name: 'y' },
      ],
    };
    const r = parseCalendar(bad);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toContainEqual({ path: 'holidays[2].date', message: 'expected YYYY-MM-DD' });
  });

  it('refuse unknown fields, bad zones and times, and contradictions', () => {
    const issues = (x: unknown) =>
      (parseCalendar(x) as { issues: readonly { path: string }[] }).issues.map((i) => i.path);
    expect(issues({ ...base, colour: 'red' })).toEqual(['(root)']);
    expect(issues({ ...base, timezone: 'Mars/Olympus' })).toEqual(['timezone']);
    expect(issues({ ...base, open: '9:30' })).toEqual(['open']);
    expect(issues({ ...base, close: '09:00' })).toEqual(['close']);
    expect(
      issues({ ...base, earlyCloses: [{ date: '2016-01-01', close: '13:00', name: 'e' }] }),
    ).toEqual(['earlyCloses[0].date']);
    expect(
      issues({ ...base, earlyCloses: [{ date: '2016-01-04', close: '17:00', name: 'e' }] }),
    ).toEqual(['earlyCloses[0].close']);
  });

  it('fill defaults and sort, so the same content is the same calendar', () => {
    const a = parseCalendar({
      ...base,
      holidays: [{ date: '2016-12-26', name: 'X' }, ...base.holidays],
    });
    const b = parseCalendar({
      ...base,
      weekdays: [5, 4, 3, 2, 1],
      holidays: [...base.holidays, { date: '2016-12-26', name: 'X' }],
    });
    expect(a.ok && b.ok && JSON.stringify(a.calendar) === JSON.stringify(b.calendar)).toBe(true);
  });

  it('the shipped calendars load and cover their year (CME: up to Labor Day eve)', () => {
    expect(calendarCoverage(load('XNYS-2016'))).toEqual({ from: '2016-01-01', to: '2016-12-31' });
    expect(calendarCoverage(load('SIFMA-US-2016'))).toEqual({
      from: '2016-01-01',
      to: '2016-12-31',
    });
    expect(calendarCoverage(load('CME-EQUITY-2016'))).toEqual({
      from: '2016-01-01',
      to: '2016-09-04',
    });
  });
});

describe('sessions', () => {
  const xnys = load('XNYS-2016');
  it('has the NYSE 2016 trading days, with the offset of each date', () => {
    const all = sessions(xnys, '2016-01-01', '2016-12-31');
    expect(all).toHaveLength(252);
    expect(
      sessions(xnys, '2016-03-11', '2016-03-14').map(({ date, open, close }) => ({
        date,
        open,
        close,
      })),
    ).toEqual([
      { date: '2016-03-11', open: '2016-03-11T09:30:00-05:00', close: '2016-03-11T16:00:00-05:00' },
      { date: '2016-03-14', open: '2016-03-14T09:30:00-04:00', close: '2016-03-14T16:00:00-04:00' },
    ]);
  });

  it('leaves holidays out and applies early closes and late opens', () => {
    expect(sessions(xnys, '2016-03-24', '2016-03-28').map((s) => s.date)).toEqual([
      '2016-03-24',
      '2016-03-28',
    ]);
    expect(sessions(xnys, '2016-11-25', '2016-11-25')[0]?.close).toBe('2016-11-25T13:00:00-05:00');
    const late = { ...xnys, lateOpens: [{ date: '2016-06-01', open: '11:00', name: 'late' }] };
    expect(sessions(late, '2016-06-01', '2016-06-01')[0]?.open).toBe('2016-06-01T11:00:00-04:00');
    const sifma = load('SIFMA-US-2016');
    expect(sessions(sifma, '2016-07-01', '2016-07-01')[0]?.close).toBe('2016-07-01T14:00:00-04:00');
    const cme = load('CME-EQUITY-2016');
    expect(sessions(cme, '2016-01-18', '2016-01-18')[0]).toMatchObject({
      open: '2016-01-18T08:30:00-06:00',
      close: '2016-01-18T12:00:00-06:00',
    });
  });

  it('knows no session outside the covered dates', () => {
    expect(sessions(xnys, '2016-12-30', '2017-01-06').map((s) => s.date)).toEqual(['2016-12-30']);
    expect(isSession(xnys, '2017-01-03')).toBe(false);
    expect(isSession(xnys, '2016-12-30')).toBe(true);
    expect(isSession(xnys, '2016-12-26')).toBe(false);
  });
});

describe('calendar decider', () => {
  const spec = deciderSpec(calendarBehaviour);
  const v1 = parseCalendar(base);
  if (!v1.ok) throw new Error('base');
  const changed = { ...v1.calendar, close: '16:30' };
  const imported = (version: number, calendar: Calendar) =>
    ev('calendar.imported', { version, calendar }, admin);

  it('a first import is version 1', () => {
    const s = spec
      .given([])
      .when({ type: 'ImportCalendar', ...meta(admin), data: { calendar: v1.calendar } })
      .then([{ type: 'calendar.imported', data: { version: 1, calendar: v1.calendar } }]);
    expect(stateName(s)).toBe('active');
  });

  it('an identical re-import decides nothing, in any list order', () => {
    const reordered = { ...v1.calendar, weekdays: [5, 4, 3, 2, 1] };
    spec
      .given([imported(1, v1.calendar)])
      .when({ type: 'ImportCalendar', ...meta(admin), data: { calendar: reordered } })
      .then([]);
  });

  it('a change is the next version, and every version stays readable', () => {
    const s = spec
      .given([imported(1, v1.calendar)])
      .when({ type: 'ImportCalendar', ...meta(admin), data: { calendar: changed } })
      .then([{ type: 'calendar.imported', data: { version: 2, calendar: changed } }]);
    expect(latestCalendar(s).version).toBe(2);
    expect(s.context.versions[0]).toEqual(v1.calendar);
  });

  it('the machine refuses a version out of order (a gap or a rewrite)', () => {
    const s = calendarBehaviour.evolve(calendarBehaviour.initial(), imported(1, v1.calendar));
    expect(() => calendarBehaviour.evolve(s, imported(3, changed))).toThrow(
      /isNextVersion|does not accept/,
    );
    expect(() => calendarBehaviour.evolve(s, imported(1, changed))).toThrow();
  });
});
