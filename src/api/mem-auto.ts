import { ErrorCodes, SUBMIT_DEFAULTS, SchedulerError, isMemAuto } from '../events/index.js';
import { decideMemAuto, type MemFallback, type MemSizing } from '../policy/index.js';
import { peakRunsOf, type UsageState } from '../projections/index.js';

/** A name's memory default (`drover mem-default set NAME auto|SIZE [--fallback SIZE]`). */
export interface MemDefault {
  readonly memMb: number | 'auto';
  /** With `auto`: the figure for a name without runs in the window. */
  readonly fallbackMb?: number;
}

const field = (path: string, message: string) =>
  new SchedulerError(ErrorCodes.BadInput, `${path}: ${message}`, {
    details: { issues: [{ path, message }] },
  });

/**
 * The memory of a submission, decided where the usage history is (the API), before the body is
 * validated and appended: `memMb: "auto"`, or no `memMb` for a name whose default is `auto`,
 * becomes the figure of `decideMemAuto` with its provenance as `memSizing`; no `memMb` for a name
 * with a size default becomes that size. An explicit `memMb` wins. A client's own `memSizing` is
 * refused (only this step writes it). Returns the body to validate, and the decision. Pure.
 */
export function resolveMemory(
  body: unknown,
  usage: UsageState,
  defaults: (name: string) => MemDefault | undefined,
  now: number,
): { body: unknown; sizing?: MemSizing } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { body };
  const b = body as Record<string, unknown>;
  if ('memSizing' in b)
    throw field('memSizing', 'written by the API when it decides memMb "auto"; send memMb: "auto"');
  const name = typeof b.name === 'string' ? b.name : undefined;
  const def = name === undefined ? undefined : defaults(name);
  const auto = isMemAuto(b) || (b.memMb === undefined && def?.memMb === 'auto');
  if (!auto) {
    if (b.memMb === undefined && typeof def?.memMb === 'number')
      return { body: { ...b, memMb: def.memMb } };
    return { body };
  }
  if (name === undefined) {
    // Let the one validation name the missing or bad `name`.
    const { memMb: _auto, ...rest } = b;
    return { body: rest };
  }
  const fallback: MemFallback =
    def?.fallbackMb !== undefined
      ? { memMb: def.fallbackMb, from: 'name default' }
      : { memMb: SUBMIT_DEFAULTS.memMb, from: 'submit default' };
  const sizing = decideMemAuto({ name, now, history: peakRunsOf(usage, name), fallback });
  return { body: { ...b, memMb: sizing.memMb, memSizing: sizing }, sizing };
}

/** Shell words of a command, quoted where a POSIX shell would split or expand them. Pure. */
export function shellWords(words: readonly string[]): string {
  return words
    .map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** `512M`, `6G` or `1536M`: the figure as `--mem` takes it (whole GiB when it is). Pure. */
export function memFlag(memMb: number): string {
  return memMb % 1024 === 0 ? `${memMb / 1024}G` : `${memMb}M`;
}
