import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobSnapshot } from '../actors/index.js';
import { parseEventSubject, type PendingReason, type RecordedEvent } from '../events/index.js';

/**
 * What the scheduler service reports as it works: the hooks it calls, nothing more. The
 * service only sees this port (its `metrics` option); the Prometheus side is
 * `createSchedulerMetrics`, and tests or benches may pass their own.
 */
export interface SchedulerMetrics {
  /** Leading (`true`, with its fencing epoch) or standing by / deposed (`false`). */
  leading(epoch: number, leads: boolean): void;
  /**
   * A placement round took `seconds`. `pending` is the round's notes when it computed reasons
   * (once a second), else undefined; `jobOf` reads a job's user.
   */
  round(
    seconds: number,
    pending: ReadonlyMap<string, { reasons: readonly PendingReason[] }> | undefined,
    jobOf: (id: string) => JobSnapshot | undefined,
  ): void;
  /** A chunk's `chunk.assigned` was appended by this scheduler. */
  placed(): void;
  /** The tail folded stream sequence `seq` (`event` undefined when corrupt); `live` after catch-up. */
  applied(seq: number, event: RecordedEvent | undefined, live: boolean): void;
  /** Where to read the stream's last sequence from, for the tail lag (read at scrape time). */
  watchHead(head: () => Promise<number>): void;
  /** Where to read how many pending notes are offered and not yet written (at scrape time). */
  watchNotes(unwritten: () => number): void;
  /**
   * Where to read a folded job (its submission time, when `job.started` is applied): the tail
   * folds an event into its entity before it is `applied` here.
   */
  watchJobs(jobOf: (id: string) => JobSnapshot | undefined): void;
}

/** A scheduler that reports nowhere (the default). */
export const noSchedulerMetrics: SchedulerMetrics = {
  leading: () => {},
  round: () => {},
  placed: () => {},
  applied: () => {},
  watchHead: () => {},
  watchNotes: () => {},
  watchJobs: () => {},
};

/** Buckets of the submit→running histogram (seconds): a second to a day. */
const WAIT_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86_400];
/** Buckets of the round duration histogram (seconds): a tenth of a millisecond to 2 s. */
const ROUND_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

/**
 * Waiting jobs by user and first pending reason (a job counts once, under the reason that
 * blocks it first, so the gauge sums to the queue depth). Pure.
 */
export function queueDepth(
  pending: ReadonlyMap<string, { reasons: readonly PendingReason[] }>,
  jobOf: (id: string) => JobSnapshot | undefined,
): Map<string, { user: string; reason: string; jobs: number }> {
  // Rows found by user then reason: a key string per job was garbage each round with reasons.
  const byUser = new Map<string, Map<string, { user: string; reason: string; jobs: number }>>();
  for (const [jobId, note] of pending) {
    const user = jobOf(jobId)?.context.spec?.user ?? 'unknown';
    const reason = note.reasons[0]?.code ?? 'None';
    let rows = byUser.get(user);
    if (!rows) byUser.set(user, (rows = new Map()));
    const row = rows.get(reason);
    if (row) row.jobs++;
    else rows.set(reason, { user, reason, jobs: 1 });
  }
  const out = new Map<string, { user: string; reason: string; jobs: number }>();
  for (const rows of byUser.values())
    for (const row of rows.values()) out.set(`${row.user}\u0000${row.reason}`, row);
  return out;
}

/**
 * The scheduler's Prometheus metrics in `registry` (`drover_scheduler_*`). Labels are bounded:
 * users and pending reason codes, never a job id. Submit→running is `job.submitted` to
 * `job.started` (the job reads `running` once its first chunk is placed; `job.started` comes
 * once a job), observed only for starts folded live: a takeover's replay of history does not
 * count old waits again.
 */
export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  const registers = [registry];
  const queue = new Gauge({
    name: 'drover_scheduler_queue_jobs',
    help: 'Waiting jobs by user and first pending reason (refreshed once a second)',
    labelNames: ['user', 'reason'] as const,
    registers,
  });
  const placements = new Counter({
    name: 'drover_scheduler_placements_total',
    help: 'Chunk placements appended by this scheduler',
    registers,
  });
  const rounds = new Histogram({
    name: 'drover_scheduler_round_duration_seconds',
    help: 'Time to plan one placement round',
    buckets: ROUND_BUCKETS,
    registers,
  });
  const waits = new Histogram({
    name: 'drover_scheduler_submit_to_running_seconds',
    help: 'Time from job.submitted to job.started, per job started while this scheduler tails',
    buckets: WAIT_BUCKETS,
    registers,
  });
  let appliedSeq = 0;
  let head: (() => Promise<number>) | undefined;
  new Gauge({
    name: 'drover_scheduler_tail_applied_sequence',
    help: 'Last stream sequence the scheduler folded',
    registers,
    collect() {
      this.set(appliedSeq);
    },
  });
  new Gauge({
    name: 'drover_scheduler_tail_lag_events',
    help: "Events in the stream the scheduler has not folded yet (the stream's last sequence minus the applied one)",
    registers,
    async collect() {
      if (head) this.set(Math.max(0, (await head()) - appliedSeq));
    },
  });
  let notes: (() => number) | undefined;
  new Gauge({
    name: 'drover_scheduler_pending_notes_backlog',
    help: 'Pending notes a round offered and the scheduler has not written yet (waiting or in flight)',
    registers,
    collect() {
      this.set(notes?.() ?? 0);
    },
  });
  const epochGauge = new Gauge({
    name: 'drover_scheduler_lease_epoch',
    help: "The fencing epoch of this scheduler's lease (0 before it first leads)",
    registers,
  });
  const leader = new Gauge({
    name: 'drover_scheduler_leader',
    help: '1 while this scheduler holds the lease, else 0',
    registers,
  });
  leader.set(0);
  epochGauge.set(0);
  // The submission time is the folded job's `createdAt` (its `job.submitted`'s `at`), read when it
  // starts: a map of it per job held an entry and a boxed number for every queued job.
  let foldedJob: ((id: string) => JobSnapshot | undefined) | undefined;
  return {
    leading(epoch, leads) {
      if (epoch > 0) epochGauge.set(epoch);
      leader.set(leads ? 1 : 0);
    },
    round(seconds, pending, jobOf) {
      rounds.observe(seconds);
      if (!pending) return;
      queue.reset();
      for (const row of queueDepth(pending, jobOf).values())
        queue.set({ user: row.user, reason: row.reason }, row.jobs);
    },
    placed: () => placements.inc(),
    applied(seq, event, live) {
      appliedSeq = Math.max(appliedSeq, seq);
      if (!event) return;
      const where = parseEventSubject(event.recorded.subject);
      if (where?.entity !== 'job') return;
      if (event.type !== 'job.started' || !live) return;
      const at = foldedJob?.(where.id)?.context.createdAt;
      if (at !== undefined) waits.observe(Math.max(0, (event.at - at) / 1000));
    },
    watchHead(h) {
      head = h;
    },
    watchNotes(n) {
      notes = n;
    },
    watchJobs(j) {
      foldedJob = j;
    },
  };
}
