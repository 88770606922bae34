import type { Environment, PinnedEnvironment } from '../events/index.js';

/** The facts a pinned environment must find again (issue 20): commit, dirty state, lockfiles. */
export const PINNED_FIELDS = ['gitCommit', 'dirty', 'lockfileHash'] as const;

/** Hashes and commits are long: the first 12 characters name them well enough in a sentence. */
function shown(value: string | boolean | undefined): string {
  if (value === undefined) return 'none';
  if (typeof value === 'boolean') return String(value);
  return value.length > 12 ? value.slice(0, 12) : value;
}

/** The lockfiles that differ between two per-file hash maps (added, removed or changed), sorted. */
export function changedLockfiles(
  a: Readonly<Record<string, string>> = {},
  b: Readonly<Record<string, string>> = {},
): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((n) => a[n] !== b[n]).sort();
}

/**
 * What no longer matches between a pinned environment and the one found now, one sentence per
 * fact (`gitCommit was abc123def456, now 0f1e2d3c4b5a`); empty when it still holds. An absent
 * fact must still be absent (a cwd that became a repository has changed too). Pure.
 */
export function environmentChanges(
  pinned: Omit<PinnedEnvironment, 'from'>,
  now: Pick<Environment, 'gitCommit' | 'dirty' | 'lockfileHash' | 'lockfiles'>,
): string[] {
  const out: string[] = [];
  for (const field of PINNED_FIELDS) {
    const was = pinned[field];
    const is = now[field];
    if (was === is) continue;
    let sentence = `${field} was ${shown(was)}, now ${shown(is)}`;
    if (field === 'lockfileHash') {
      const files = changedLockfiles(pinned.lockfiles, now.lockfiles);
      if (files.length > 0) sentence += ` (${files.join(', ')} changed)`;
    }
    out.push(sentence);
  }
  return out;
}

/** What `drover diff` compares of a job: its request and its latest attempt's environment. */
export interface DiffableJob {
  readonly id: string;
  readonly name: string;
  readonly pool: string;
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly request: { readonly cpus: number; readonly memMb: number; readonly gpus: number };
  readonly retries: number;
  readonly timeoutS?: number;
  readonly chunks: readonly unknown[];
  readonly environment?: Environment;
}

/** One difference: the field's dotted path and its value in each job (`null`: absent). */
export interface Difference {
  readonly field: string;
  readonly a: unknown;
  readonly b: unknown;
}

const ENVIRONMENT_FIELDS = [
  'cwd',
  'gitCommit',
  'dirty',
  'lockfileHash',
  'image',
  'envHash',
  'agentVersion',
] as const;

function requestFacts(j: DiffableJob): Record<string, unknown> {
  return {
    name: j.name,
    pool: j.pool,
    command: [...j.command],
    cwd: j.cwd,
    cpus: j.request.cpus,
    memMb: j.request.memMb,
    gpus: j.request.gpus,
    chunks: j.chunks.length,
    retries: j.retries,
    timeoutS: j.timeoutS,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * What differs between two jobs, request first (`command`, `cpus`, `memMb`...) then the
 * environment of each one's latest attempt (`environment.gitCommit`, `environment.lockfileHash`,
 * and `environment.lockfiles.<name>` for each lockfile that changed): "what changed since it
 * last worked?". A job never started has no environment: `environment` differs when only one
 * has one. Pure; the order is fixed, so the output is stable.
 */
export function diffJobs(a: DiffableJob, b: DiffableJob): Difference[] {
  const out: Difference[] = [];
  const ra = requestFacts(a);
  const rb = requestFacts(b);
  for (const field of Object.keys(ra)) {
    if (!same(ra[field], rb[field]))
      out.push({ field, a: ra[field] ?? null, b: rb[field] ?? null });
  }
  const ea = a.environment;
  const eb = b.environment;
  if (!ea || !eb) {
    if (ea || eb) out.push({ field: 'environment', a: ea ?? null, b: eb ?? null });
    return out;
  }
  for (const f of ENVIRONMENT_FIELDS) {
    if (!same(ea[f], eb[f]))
      out.push({ field: `environment.${f}`, a: ea[f] ?? null, b: eb[f] ?? null });
  }
  for (const name of changedLockfiles(ea.lockfiles, eb.lockfiles)) {
    const field = `environment.lockfiles.${name}`;
    out.push({ field, a: ea.lockfiles?.[name] ?? null, b: eb.lockfiles?.[name] ?? null });
  }
  return out;
}
