import type { NotifyEvent, Workflow } from '../../events/index.js';
import { zoneClock } from '../calendar/zoned-time.js';

/** A task of a run as the notifications see it: its job, state, end and attempts so far. */
export interface TaskFacts {
  readonly task: string;
  readonly jobId: string;
  readonly state: string;
  readonly endedAt?: number;
  /** The highest attempt of any of its chunks (2 and more: retried). */
  readonly attempts: number;
}

/** A run as the notifications see it (read from the log's fold by the shell). */
export interface RunFacts {
  readonly run: string;
  readonly workflow: Workflow;
  readonly date: string;
  readonly zone: string;
  readonly state: string;
  readonly createdAt: number;
  readonly endedAt?: number;
  readonly firstEndedAt?: number;
  readonly reruns: number;
  readonly tasks: readonly TaskFacts[];
  /** Deliveries recorded (`<key> <url>`), as the run machine folds `run.notified`. */
  readonly notified: Readonly<Record<string, { status: string; attempts: number }>>;
}

/** One notification owed to one webhook. `key` is its `Idempotency-Key`. */
export interface DueNotification {
  readonly key: string;
  readonly url: string;
  readonly event: NotifyEvent;
  readonly run: string;
  readonly workflow: string;
  readonly task?: string;
  /** The task's attempt: the new one for `retry`, the last one for a task's `failure`. */
  readonly attempt?: number;
  /** When it happened (ms); `retry`s are not timed in the log, so their run's start stands in. */
  readonly at: number;
  /** Attempts already recorded for this delivery (a restart numbers on from here). */
  readonly recorded: number;
}

/** The instant a run's `deadline` falls on: that wall time of its logical date in its zone. Pure. */
export function deadlineOf(r: Pick<RunFacts, 'workflow' | 'date' | 'zone'>): number | undefined {
  const d = r.workflow.deadline;
  return d === undefined ? undefined : zoneClock(r.zone).instant(r.date.slice(0, 10), d);
}

/**
 * Whether a run missed its deadline at `now`: the deadline passed and the run had not first
 * ended by then. A run created after its deadline (a backfill, a late manual trigger) could
 * never have made it and is not reported. Pure.
 */
export function missedDeadline(r: RunFacts, now: number): number | undefined {
  const at = deadlineOf(r);
  if (at === undefined || now < at || r.createdAt >= at) return undefined;
  if (r.firstEndedAt !== undefined && r.firstEndedAt <= at) return undefined;
  return at;
}

type Occurrence = Omit<DueNotification, 'url' | 'recorded' | 'run' | 'workflow'>;

/** Everything that happened in a run that a webhook may want, keyed stably. Pure. */
function occurrences(r: RunFacts, now: number): Occurrence[] {
  const out: Occurrence[] = [];
  const again = r.reruns > 0 ? `:r${r.reruns}` : '';
  for (const t of r.tasks) {
    for (let n = 2; n <= t.attempts; n++)
      out.push({
        key: `${t.jobId}:retry:${n}`,
        event: 'retry',
        task: t.task,
        attempt: n,
        at: r.createdAt,
      });
    if (t.state === 'failed' && t.endedAt !== undefined)
      out.push({
        key: `${t.jobId}:failure`,
        event: 'failure',
        task: t.task,
        attempt: Math.max(1, t.attempts),
        at: t.endedAt,
      });
  }
  if (r.endedAt !== undefined && r.state === 'succeeded')
    out.push({ key: `${r.run}:success${again}`, event: 'success', at: r.endedAt });
  if (r.endedAt !== undefined && r.state === 'failed')
    out.push({ key: `${r.run}:failure${again}`, event: 'failure', at: r.endedAt });
  const missed = missedDeadline(r, now);
  if (missed !== undefined) out.push({ key: `${r.run}:missed`, event: 'missed', at: missed });
  return out;
}

/**
 * The notifications owed now: what happened in each run within `maxAgeMs`, for every webhook of
 * the run's workflow version whose `on` lists it, with no final delivery recorded yet (none, or
 * still `trying`). The log is the outbox: what a dead sender left undelivered is owed again, with
 * the same key. Pure.
 */
export function dueNotifications(
  runs: readonly RunFacts[],
  now: number,
  maxAgeMs: number,
): DueNotification[] {
  const out: DueNotification[] = [];
  for (const r of runs) {
    if (!r.workflow.notify.length) continue;
    for (const o of occurrences(r, now)) {
      if (now - o.at > maxAgeMs) continue;
      for (const target of r.workflow.notify) {
        if (!target.on.includes(o.event)) continue;
        const record = r.notified[`${o.key} ${target.url}`];
        if (record && record.status !== 'trying') continue;
        out.push({
          ...o,
          url: target.url,
          run: r.run,
          workflow: r.workflow.name,
          recorded: record?.attempts ?? 0,
        });
      }
    }
  }
  return out;
}

/** Words for a notification, as Slack renders them (mrkdwn; escaped by the caller). Pure. */
export function notificationText(n: DueNotification): string {
  const task = n.task !== undefined ? ` task ${n.task}` : '';
  // `task` reads " task x" for a task's notification, nothing for the run's.
  switch (n.event) {
    case 'retry':
      return `Retrying${task} of ${n.run} (attempt ${n.attempt})`;
    case 'failure':
      return n.task !== undefined
        ? `FAILED: task ${n.task} of ${n.run} (attempt ${n.attempt})`
        : `FAILED: run ${n.run}`;
    case 'success':
      return `Succeeded: run ${n.run}`;
    case 'missed':
      return `MISSED DEADLINE: run ${n.run} had not finished by ${new Date(n.at).toISOString()}`;
    default: {
      const _exhaustive: never = n.event;
      return _exhaustive;
    }
  }
}
