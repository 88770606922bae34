import { historyAt, queueOrder, type FairShareConfig, type Ranked } from '../policy/index.js';
import { capacityOf, fairshareTasks, type FairshareState } from '../projections/index.js';

/** The most jobs a priority override lists as delayed (the event's bound). */
export const MAX_DELAYED = 1000;

/** Each job's place in the queue: the rank of its first waiting task. */
function firstWaiting(ranked: readonly Ranked[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const r of ranked)
    if (!r.task.running && !at.has(r.task.jobId)) at.set(r.task.jobId, r.rank);
  return at;
}

/**
 * The waiting jobs a priority override delays (CONTRACT `drover priority` → `delayed`): those
 * whose first waiting task was ahead of `jobId`'s in the global queue and is after it once the
 * job has `priority` (and `global`, the global front). The queue is the scheduler's: the
 * policy's `queueOrder` over the fair-share state's tasks, capacity and decayed history at
 * `now` (pinned to the scheduler's by the fair-share agreement property test). Ordered as they
 * stood before; empty when the job has nothing waiting or moves back. Pure.
 */
export function delayedBy(
  s: FairshareState,
  change: { jobId: string; priority: number; global: boolean },
  now: number,
  config: FairShareConfig,
): string[] {
  const tasks = fairshareTasks(s);
  const ctx = {
    capacity: capacityOf(s),
    history: (u: string) => historyAt(s.history, u, now, config.halfLifeS),
    config,
  };
  const before = firstWaiting(queueOrder(tasks, ctx));
  const moved = tasks.map((t) =>
    t.jobId === change.jobId ? { ...t, priority: change.priority, globalFront: change.global } : t,
  );
  const after = firstWaiting(queueOrder(moved, ctx));
  const was = before.get(change.jobId);
  const is = after.get(change.jobId);
  if (was === undefined || is === undefined) return [];
  return [...before]
    .filter(([job, rank]) => job !== change.jobId && rank < was && (after.get(job) ?? -1) > is)
    .sort((a, b) => a[1] - b[1])
    .slice(0, MAX_DELAYED)
    .map(([job]) => job);
}
