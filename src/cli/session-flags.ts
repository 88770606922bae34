import { randomUUID } from 'node:crypto';
import { parseMemoryMb } from '../events/index.js';

/**
 * A new session or allocation id: `prefix` and 12 hex digits, one subject token, short enough
 * to type into `drover audit` (`s…` for a run, `a…` for an allocation).
 */
export const newShortId = (prefix: 's' | 'a'): string =>
  `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`;

/** The per-node resources of `drover run` and `drover alloc` as commander gives them. */
export interface ResourceFlags {
  cpus?: string;
  mem?: string;
}

/**
 * `--cpus`/`--mem` of `drover run` and `drover alloc` as request fields (absent flags: absent
 * fields, the API's defaults). Their syntax only; the API checks the ranges. Throws naming the
 * flag.
 */
export function resourceFields(o: ResourceFlags): { cpus?: number; memMb?: number } {
  const out: { cpus?: number; memMb?: number } = {};
  if (o.cpus !== undefined) {
    const cpus = Number(o.cpus);
    if (!Number.isFinite(cpus)) throw new Error(`--cpus ${o.cpus}: expected a number`);
    out.cpus = cpus;
  }
  if (o.mem !== undefined) {
    const memMb = parseMemoryMb(o.mem);
    if (memMb === undefined) throw new Error(`--mem ${o.mem}: expected a size like 512M or 8G`);
    out.memMb = memMb;
  }
  return out;
}
