import { parseMemoryMb } from './units.js';

/**
 * Upcasters lift the `data` of an old event version to the next one, so the machines and folds
 * only ever see current versions (the log itself is never rewritten). Pure.
 *
 * Keyed by `type`, then by the version they upcast *from*; a chain runs until the current one.
 */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export const upcasters: Readonly<Record<string, Readonly<Record<number, Upcaster>>>> = {
  'job.submitted': {
    /**
     * v1 (the first intake) carried memory as text (`mem: "2G"`) and had no pool, labels,
     * exclusions or env defaults; v2 is the normalised spec with `memMb`.
     */
    1: (d) => {
      const { mem, ...rest } = d;
      const memMb = typeof mem === 'string' ? parseMemoryMb(mem) : undefined;
      return {
        pool: 'default',
        cpus: 1,
        gpus: 0,
        chunks: 1,
        retries: 0,
        after: [],
        labels: {},
        excludeNodes: [],
        priority: 0,
        env: {},
        ...rest,
        // Absent: v1's default. Unreadable: left out, so validation names `data.memMb`.
        memMb: mem === undefined ? 1024 : (memMb ?? (typeof mem === 'number' ? mem : undefined)),
      };
    },
  },
};

/** Upcast `data` from version `from` to `to`; undefined when a step of the chain is missing. */
export function upcast(
  type: string,
  from: number,
  to: number,
  data: Record<string, unknown>,
): Record<string, unknown> | undefined {
  let current = data;
  for (let v = from; v < to; v++) {
    const step = upcasters[type]?.[v];
    if (!step) return undefined;
    current = step(current);
  }
  return current;
}
