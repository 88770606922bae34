import {
  CalendarSchema,
  normalizeCalendar,
  type Calendar,
  type FieldIssue,
} from '../../events/index.js';

/** A calendar file's problems, or the calendar normalised. */
export type ParsedCalendar =
  | { readonly ok: true; readonly calendar: Calendar }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** A zod path as people write it: `holidays[2].date`. Pure. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

type Dated = { readonly date: string };

/**
 * The rules one field cannot state alone, each named by its path. Pure.
 * - the regular session opens before it closes;
 * - a date appears at most once per list, and a holiday has no early close or late open;
 * - an early close is after the (possibly late) open and before the regular close; a late open
 *   is after the regular open and before the (possibly early) close;
 * - weekdays are distinct; `from` is not after `to`, and dated entries lie between them.
 */
export function calendarProblems(c: Calendar): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ path: formatPath(path), message });
  if (minutes(c.open) >= minutes(c.close)) add(['close'], `must be after open ${c.open}`);
  if (new Set(c.weekdays).size !== c.weekdays.length) add(['weekdays'], 'repeats a day');
  const holidays = new Set<string>();
  const early = new Map(c.earlyCloses.map((e) => [e.date, e.close]));
  const late = new Map(c.lateOpens.map((e) => [e.date, e.open]));
  const once = (list: string, xs: readonly Dated[]) => {
    const seen = new Set<string>();
    xs.forEach((x, i) => {
      if (seen.has(x.date)) add([list, i, 'date'], `${x.date} appears twice`);
      seen.add(x.date);
    });
  };
  once('holidays', c.holidays);
  once('earlyCloses', c.earlyCloses);
  once('lateOpens', c.lateOpens);
  for (const h of c.holidays) holidays.add(h.date);
  c.earlyCloses.forEach((e, i) => {
    if (holidays.has(e.date)) add(['earlyCloses', i, 'date'], `${e.date} is also a holiday`);
    const open = late.get(e.date) ?? c.open;
    if (minutes(e.close) <= minutes(open))
      add(['earlyCloses', i, 'close'], `must be after ${open}`);
    if (minutes(e.close) >= minutes(c.close))
      add(['earlyCloses', i, 'close'], `must be before the regular close ${c.close}`);
  });
  c.lateOpens.forEach((e, i) => {
    if (holidays.has(e.date)) add(['lateOpens', i, 'date'], `${e.date} is also a holiday`);
    const close = early.get(e.date) ?? c.close;
    if (minutes(e.open) >= minutes(close)) add(['lateOpens', i, 'open'], `must be before ${close}`);
    if (minutes(e.open) <= minutes(c.open))
      add(['lateOpens', i, 'open'], `must be after the regular open ${c.open}`);
  });
  if (c.from !== undefined && c.to !== undefined && c.from > c.to)
    add(['to'], `must not be before from ${c.from}`);
  const outside = (list: string, xs: readonly Dated[]) =>
    xs.forEach((x, i) => {
      if ((c.from !== undefined && x.date < c.from) || (c.to !== undefined && x.date > c.to))
        add([list, i, 'date'], `${x.date} is outside from/to`);
    });
  outside('holidays', c.holidays);
  outside('earlyCloses', c.earlyCloses);
  outside('lateOpens', c.lateOpens);
  return issues;
}

/**
 * Validate a calendar as read from a file (YAML or JSON, already parsed): every problem named by
 * its path (`holidays[2].date: expected YYYY-MM-DD`), or the calendar in normal form. Pure.
 */
export function parseCalendar(input: unknown): ParsedCalendar {
  const parsed = CalendarSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: formatPath(i.path),
      message: i.message,
    }));
    return { ok: false, issues };
  }
  const problems = calendarProblems(parsed.data);
  if (problems.length) return { ok: false, issues: problems };
  return { ok: true, calendar: normalizeCalendar(parsed.data) };
}

/** The issues as one line: `holidays[2].date: expected YYYY-MM-DD; close: ...`. Pure. */
export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/**
 * The dates a calendar's data covers, both included: its `from`/`to` when stated, otherwise the
 * whole years its dated entries (holidays, early closes, late opens) fall in. A holiday list is
 * published a year at a time, so a year with one entry is taken as known in full. Undefined for
 * a calendar that states no dates at all: it knows no day for certain. Pure.
 */
export function calendarCoverage(c: Calendar): { from: string; to: string } | undefined {
  const dates = [...c.holidays, ...c.earlyCloses, ...c.lateOpens].map((x) => x.date).sort();
  const first = dates[0];
  const last = dates[dates.length - 1];
  const from = c.from ?? (first !== undefined ? `${first.slice(0, 4)}-01-01` : undefined);
  const to = c.to ?? (last !== undefined ? `${last.slice(0, 4)}-12-31` : undefined);
  return from !== undefined && to !== undefined ? { from, to } : undefined;
}
