import type { HeldWorker, UsageLedger } from '../policy/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';

/**
 * The scheduler's usage fold at log sequence `seq`: each user's decayed history and the workers
 * holding resources then. Usage is a decayed fold (POLICY.md §1), so this state at `seq` plus the
 * events after it gives exactly what a fold from the log's start gives: a scheduler starts from it
 * instead of needing every usage event ever written, including those compaction moved out of the
 * live log. JSON, versioned (`v`).
 */
export interface UsageCheckpoint {
  readonly v: 1;
  readonly seq: number;
  readonly history: UsageLedger['history'];
  /** Worker id → who holds what since when (a worker assigned before `seq`, ended after). */
  readonly workers: readonly (readonly [string, HeldWorker])[];
}

/** A copy of `ledger` as a checkpoint at `seq` (the ledger goes on changing). Pure. */
export function checkpointOf(ledger: UsageLedger, seq: number): UsageCheckpoint {
  return {
    v: 1,
    seq,
    history: { refAt: ledger.history.refAt, byUser: { ...ledger.history.byUser } },
    workers: [...ledger.workers].map(([id, w]) => [id, { ...w, request: { ...w.request } }]),
  };
}

/** A fresh ledger holding what `c` recorded (the fold resumes after `c.seq`). Pure. */
export function ledgerOf(c: UsageCheckpoint): UsageLedger {
  return {
    history: {
      refAt: c.history.refAt,
      byUser: Object.fromEntries(Object.entries(c.history.byUser)),
    },
    workers: new Map(c.workers.map(([id, w]) => [id, { ...w, request: { ...w.request } }])),
  };
}

/**
 * Check a stored checkpoint (parsed JSON). Pure. Throws a `SchedulerError` (BAD_INPUT) naming the
 * first field that is wrong: a checkpoint from a newer Drover or a damaged one is refused, and the
 * scheduler then folds usage from the log's start as before.
 */
export function parseUsageCheckpoint(raw: unknown): UsageCheckpoint {
  const o = record(raw, 'checkpoint');
  if (o.v !== 1) bad('v', `expected 1, got ${JSON.stringify(o.v)}`);
  const seq = count(o.seq, 'seq');
  const h = record(o.history, 'history');
  const refAt = finite(h.refAt, 'history.refAt');
  // fromEntries defines own properties: a user called `__proto__` stays data.
  const byUser = Object.fromEntries(
    Object.entries(record(h.byUser, 'history.byUser')).map(([user, v]) => [
      user,
      vector(v, `history.byUser.${user}`),
    ]),
  );
  if (!Array.isArray(o.workers)) bad('workers', 'expected an array');
  const workers = (o.workers as unknown[]).map((entry, i): [string, HeldWorker] => {
    const where = `workers[${i}]`;
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string')
      bad(where, 'expected [workerId, { user, request, start }]');
    const w = record((entry as unknown[])[1], `${where}[1]`);
    if (typeof w.user !== 'string') bad(`${where}[1].user`, 'expected a string');
    return [
      (entry as string[])[0]!,
      {
        user: w.user as string,
        request: vector(w.request, `${where}[1].request`),
        start: finite(w.start, `${where}[1].start`),
      },
    ];
  });
  return { v: 1, seq, history: { refAt, byUser }, workers };
}

function bad(field: string, message: string): never {
  throw new SchedulerError(ErrorCodes.BadInput, `usage checkpoint: ${field}: ${message}`);
}

function record(x: unknown, field: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) bad(field, 'expected an object');
  return x as Record<string, unknown>;
}

function finite(x: unknown, field: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) bad(field, 'expected a finite number');
  return x as number;
}

function count(x: unknown, field: string): number {
  const n = finite(x, field);
  if (!Number.isInteger(n) || n < 0) bad(field, 'expected a whole number >= 0');
  return n;
}

function vector(x: unknown, field: string) {
  const o = record(x, field);
  return {
    cpus: finite(o.cpus, `${field}.cpus`),
    memMb: finite(o.memMb, `${field}.memMb`),
    gpus: finite(o.gpus, `${field}.gpus`),
  };
}
