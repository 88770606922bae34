import type { JobSpec } from '../events/index.js';

/**
 * Sharing of equal immutable values between folded entities. The scheduler keeps every open job
 * folded, and each job's strings and small objects come from a separate msgpack decode: 100,000
 * queued jobs of 50 users held 100,000 copies of the same user, pool, command and empty `env`,
 * and 100,000 equal pending-reason lists. Interning changes no answer (the values are equal and
 * never mutated: shared ones are frozen), only how many copies exist. Pure: no clock, no I/O; the
 * tables are bounded caches (cleared when full), so a farm of all-distinct values costs a table
 * of at most `MAX_ENTRIES`, not one per job.
 */
const MAX_ENTRIES = 4096;
/** Longer strings are rarely shared and would make the table itself large. */
const MAX_STRING = 512;

class InternTable<T> {
  private readonly table = new Map<string, T>();

  get(key: string, make: () => T): T {
    const known = this.table.get(key);
    if (known !== undefined) return known;
    if (this.table.size >= MAX_ENTRIES) this.table.clear();
    const value = make();
    this.table.set(key, value);
    return value;
  }
}

const strings = new InternTable<string>();
const stringLists = new InternTable<readonly string[]>();
const records = new InternTable<Readonly<Record<string, string>>>();
const data = new InternTable<unknown>();

const EMPTY_LIST: readonly string[] = Object.freeze([]);
const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});

/** The one copy of `s` (short strings only; a long one is returned as it is). */
export function internString(s: string): string {
  return s.length > MAX_STRING ? s : strings.get(s, () => s);
}

/** A shared frozen copy of a list of short strings equal to `list`. */
export function internList(list: readonly string[]): readonly string[] {
  if (list.length === 0) return EMPTY_LIST;
  let size = 0;
  for (const s of list) size += s.length + 1;
  if (size > MAX_STRING) return list;
  return stringLists.get(list.join('\u0000'), () => Object.freeze(list.map(internString)));
}

/** A shared frozen copy of a small string record equal to `r` (same keys in the same order). */
export function internRecord(
  r: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const keys = Object.keys(r);
  if (keys.length === 0) return EMPTY_RECORD;
  const key = JSON.stringify(r);
  if (key.length > MAX_STRING) return r;
  // fromEntries defines own properties (a `__proto__` key stays a key, as in the original).
  return records.get(key, () =>
    Object.freeze(Object.fromEntries(keys.map((k) => [internString(k), internString(r[k]!)]))),
  );
}

/**
 * A job spec equal to `spec` whose strings, lists and records are shared with other jobs' where
 * equal. The spec object itself stays the job's own (its name is).
 */
export function internSpec(spec: JobSpec): JobSpec {
  return {
    ...spec,
    user: internString(spec.user),
    pool: internString(spec.pool),
    command: internList(spec.command) as string[],
    after: internList(spec.after) as string[],
    labels: internRecord(spec.labels) as Record<string, string>,
    excludeNodes: internList(spec.excludeNodes) as string[],
    env: internRecord(spec.env),
    ...(spec.cwd !== undefined && { cwd: internString(spec.cwd) }),
  };
}

/**
 * A shared deep-frozen copy of small plain data equal to `value` (JSON-like: objects, arrays,
 * strings, numbers, booleans, null, undefined), for values many entities hold alike (a waiting
 * job's pending reasons). Keyed by a serialisation that tells an absent field from an undefined
 * one, so the shared copy is `toStrictEqual` to the original, not only JSON-equal. Data larger
 * than `MAX_STRING` serialised is returned as it is.
 */
export function internData<T>(value: T): T {
  const key = JSON.stringify(value, exactly);
  if (key === undefined || key.length > MAX_STRING * 4) return value;
  return data.get(key, () => deepFreeze(value)) as T;
}

/** JSON that keeps what plain JSON would merge: undefined, -0, NaN, Infinity (NUL-marked). */
function exactly(_key: string, v: unknown): unknown {
  if (v === undefined) return '\u0000u';
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return `\u0000n${v}`;
  if (typeof v === 'string' && v.startsWith('\u0000')) return `\u0000s${v}`;
  return v;
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return Object.freeze(value.map(deepFreeze)) as T;
  const entries = Object.entries(value).map(([k, v]) => [k, deepFreeze(v)]);
  return Object.freeze(Object.fromEntries(entries)) as T;
}
