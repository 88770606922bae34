import { isoTime } from './reasons.js';
import type { PendingReason } from './types.js';

/** A quota that is reached: which scope and limit, and where usage stands. */
export interface QuotaReached {
  scope: 'user' | 'pool';
  name: string;
  limit: string;
  used: number;
  max: number;
}

/** A reservation that holds capacity for others until `until` (ms). */
export interface ActiveReservation {
  id: string;
  until: number;
  holders: readonly string[];
}

/** Everything about a job (not its chunks' fit) that can keep it waiting. */
export interface JobReasonInput {
  held?: { by: string; reason: string };
  /** The job's `after` dependencies with their current job states. */
  after: readonly { jobId: string; state: string }[];
  /** The time of the question (ms); needed for `beginAt` and `schedule`. */
  now?: number;
  /** Not before this time (ms): `BeginTime`. */
  beginAt?: number;
  /** The next run of a calendar schedule: `Schedule`. */
  schedule?: { expression: string; nextAt: number };
  quotas?: readonly QuotaReached[];
  reservations?: readonly ActiveReservation[];
}

const FAILED_STATES = new Set(['failed', 'cancelled']);

/**
 * Job-level pending reasons, all that apply, each with what would unblock it: Held (who, why),
 * DependencyFailed (an `after` job failed or was cancelled: this will never run), Dependency
 * (names unfinished `after` jobs and their states), BeginTime, Schedule, Quota, Reservation.
 * Pure: the shell passes in the states it read and the time.
 */
export function jobReasons(input: JobReasonInput): PendingReason[] {
  const out: PendingReason[] = [];
  if (input.held) {
    const { by, reason } = input.held;
    out.push({
      code: 'Held',
      message: `held by ${by}: ${reason}`,
      unblock: 'release the job',
      details: { by, reason },
    });
  }
  const failed = input.after.filter((d) => FAILED_STATES.has(d.state));
  const open = input.after.filter((d) => d.state !== 'succeeded' && !FAILED_STATES.has(d.state));
  const named = (ds: typeof failed) => ds.map((d) => `${d.jobId} (${d.state})`).join(', ');
  if (failed.length > 0) {
    out.push({
      code: 'DependencyFailed',
      message: `dependencies ended without success: ${named(failed)}; this job will never run`,
      unblock: 'resubmit the dependencies, or release this job from them',
      details: { jobs: failed },
    });
  }
  if (open.length > 0) {
    out.push({
      code: 'Dependency',
      message: `waiting on ${named(open)}`,
      unblock: 'they succeed',
      details: { jobs: open },
    });
  }
  const now = input.now ?? -Infinity;
  if (input.beginAt !== undefined && input.beginAt > now) {
    const when = isoTime(input.beginAt);
    out.push({
      code: 'BeginTime',
      message: `not due before ${when}`,
      unblock: `the time comes (${when})`,
      details: { beginAt: input.beginAt },
    });
  }
  if (input.schedule && input.schedule.nextAt > now) {
    const { expression, nextAt } = input.schedule;
    out.push({
      code: 'Schedule',
      message: `schedule ${expression} next runs at ${isoTime(nextAt)}`,
      unblock: `the time comes (${isoTime(nextAt)})`,
      details: { expression, nextAt },
    });
  }
  for (const q of input.quotas ?? []) out.push(quotaReason(q));
  for (const r of input.reservations ?? []) {
    if (r.until <= now) continue;
    out.push({
      code: 'Reservation',
      message: `capacity is reserved for ${r.holders.join(', ')} until ${isoTime(r.until)} (${r.id})`,
      unblock: `the window ends (${isoTime(r.until)})`,
      details: { reservation: r.id, until: r.until, holders: r.holders },
    });
  }
  return out;
}

function quotaReason(q: QuotaReached): PendingReason {
  return {
    code: 'Quota',
    message: `${q.scope} ${q.name} reached its ${q.limit} limit (${q.used} of ${q.max})`,
    unblock: 'usage drops or the limit rises',
    details: { ...q },
  };
}
