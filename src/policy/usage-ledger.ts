import type { RecordedEvent } from '../events/index.js';
import type { ResourceVector } from './types.js';
import { addUsage, type UsageHistory } from './usage.js';

/** A worker that holds resources: who holds them, how much, since when (its `chunk.assigned`). */
export interface HeldWorker {
  user: string;
  request: ResourceVector;
  start: number;
}

/**
 * The fair-share usage fold's state: workers that hold resources, and the decayed history of
 * those that ended. Owned and mutated by `foldUsage`. The field names are the fair-share
 * projection's, whose state extends this one (its checkpoints keep their shape).
 */
export interface UsageLedger {
  workers: Map<string, HeldWorker>;
  history: UsageHistory;
}

/** One worker's occupancy added to its user's history (for provenance). */
export interface UsageCharge {
  readonly user: string;
  readonly worker: string;
  readonly seq: number;
  readonly at: number;
  readonly resourceSeconds: ResourceVector;
}

/** The ledger with no usage and no held workers. Pure. */
export function emptyLedger(): UsageLedger {
  return { workers: new Map(), history: { refAt: 0, byUser: {} } };
}

/**
 * The one rule for fair-share usage (POLICY.md §1, "usage is occupancy"), used by the scheduler's
 * index and by the fair-share projection so `drover fairshare` shows what the scheduler ranks by:
 *
 * - `chunk.assigned` opens a worker: its user (from `userOf`, asked while the job is open), the
 *   request the placement reserved, and the time.
 * - The worker's first end closes it and charges request × seconds held at the end's time:
 *   `worker.exited` / `worker.killed` with the wall seconds the agent measured, `worker.lost`
 *   (NodeLost, AgentRestarted) with the time from assignment to loss. Lost work counts: the
 *   resources were held and others waited; it is the retry policy that spares the user
 *   (lost attempts never consume retries), not the history.
 * - A later end of a worker already charged (a lost worker readopted, then exited) adds nothing.
 *
 * Mutates `ledger` (owned state, as projections own theirs); pure otherwise: time comes from the
 * events. Returns the charge when one was made. Ignores every other event.
 */
export function foldUsage(
  ledger: UsageLedger,
  e: RecordedEvent,
  userOf: (jobId: string) => string | undefined,
  halfLifeS: number,
): UsageCharge | undefined {
  switch (e.type) {
    case 'chunk.assigned': {
      const chunk = idOfSubject(e.recorded.subject);
      const user = userOf(chunk.slice(0, chunk.lastIndexOf(':')));
      if (user !== undefined)
        ledger.workers.set(e.data.worker, { user, request: e.data.request, start: e.at });
      return undefined;
    }
    case 'worker.exited':
    case 'worker.killed':
      return charge(ledger, e, e.data.wallSeconds, halfLifeS);
    case 'worker.lost':
      return charge(ledger, e, undefined, halfLifeS);
    default:
      return undefined;
  }
}

function charge(
  ledger: UsageLedger,
  e: RecordedEvent,
  wallSeconds: number | undefined,
  halfLifeS: number,
): UsageCharge | undefined {
  const worker = idOfSubject(e.recorded.subject);
  const held = ledger.workers.get(worker);
  if (!held) return undefined;
  ledger.workers.delete(worker);
  const s = Math.max(0, wallSeconds ?? (e.at - held.start) / 1000);
  const { request: r } = held;
  const resourceSeconds = { cpus: r.cpus * s, memMb: r.memMb * s, gpus: r.gpus * s };
  ledger.history = addUsage(ledger.history, held.user, e.at, resourceSeconds, halfLifeS);
  return { user: held.user, worker, seq: e.recorded.seq, at: e.at, resourceSeconds };
}

/** The id part of `drover.ev.<entity>.<id>` (ids contain no dots). */
function idOfSubject(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}
