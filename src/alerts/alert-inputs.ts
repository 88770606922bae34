import { stateName, type AlertSnapshot } from '../actors/index.js';
import type { ReadModel } from '../api/index.js';
import type {
  AlertInputs,
  AlertOccurrence,
  AlertRules,
  BrokenPromise,
  LeaderObservation,
  RunDeadline,
} from '../policy/alerts/index.js';

/**
 * Where the rules about pipelines and promises get their input: the pipelines' timekeeper (run
 * deadlines) plugs a function in here; broken start-by promises come from the promise entities'
 * `promise.broken` in the read model by default (`brokenPromisesOf`), a feed given here replaces it.
 */
export interface AlertFeeds {
  readonly runDeadlines?: (model: ReadModel, now: number) => readonly RunDeadline[];
  readonly brokenPromises?: (model: ReadModel, now: number) => readonly BrokenPromise[];
}

/** Pending reasons under which a wait is the job's own (a dependency, a hold), not the farm's. */
const OWN_WAIT = new Set(['Dependency', 'DependencyFailed', 'Held', 'BeginTime', 'Schedule']);

/**
 * Submit → start waits (ms): of queued jobs still waiting on the farm (not on a dependency or a
 * hold), measured up to `now`, and of jobs that started within `windowMs`. Pure; one pass over
 * the jobs (measured per round in bench:ops).
 */
export function queueWaits(model: ReadModel, now: number, windowMs: number): number[] {
  const out: number[] = [];
  for (const job of model.jobs.values()) {
    const c = job.context;
    if (c.createdAt === undefined) continue;
    if (c.startedAt !== undefined) {
      if (now - c.startedAt <= windowMs) out.push(c.startedAt - c.createdAt);
      continue;
    }
    if (stateName(job) !== 'queued') continue;
    if (c.pending?.reasons.some((r) => OWN_WAIT.has(r.code))) continue;
    out.push(now - c.createdAt);
  }
  return out;
}

/** Everything the rules need, read from the API's read model at `now`. Pure. */
export function alertInputsOf(
  model: ReadModel,
  now: number,
  rules: AlertRules,
  leader: LeaderObservation,
  feeds: AlertFeeds = {},
): AlertInputs {
  const nodes = [...model.nodes].map(([id, snapshot]) => {
    const r = model.heartbeats.get(id)?.reading;
    return {
      id,
      state: stateName(snapshot),
      ...(r && { swapPagesPerSecond: r.swapInPerSecond + r.swapOutPerSecond }),
    };
  });
  return {
    now,
    nodes,
    queueWaitsMs: rules['queue-wait'].enabled
      ? queueWaits(model, now, rules['queue-wait'].window)
      : [],
    leader,
    runDeadlines: feeds.runDeadlines?.(model, now) ?? [],
    brokenPromises: (feeds.brokenPromises ?? brokenPromisesOf)(model, now),
  };
}

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Broken start-by promises whose job has neither started nor ended: the "broken start-by
 * promise" rule's input, from the log (`promise.broken` on the promise entity). The alert fires
 * when the leader breaks a promise and resolves by itself once the job starts late or ends
 * (cancelled, say): then nobody is waiting on it any more. Pure.
 */
export function brokenPromisesOf(model: ReadModel, _now: number): BrokenPromise[] {
  const out: BrokenPromise[] = [];
  for (const [jobId, p] of model.promises) {
    const a = p.snapshot.context.accepted;
    if (!a || stateName(p.snapshot) !== 'broken') continue;
    const job = model.jobs.get(jobId);
    if (job && (job.context.startedAt !== undefined || ENDED.has(stateName(job)))) continue;
    out.push({ jobId, startBy: a.startBy, user: a.user });
  }
  return out;
}

/** The occurrence number in an alert id (`node-lost-n1-3` → 3). */
const occurrenceOf = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1)) || 0;

/** Every alert of the read model as the round planner sees it. Pure. */
export function occurrencesOf(alerts: ReadonlyMap<string, AlertSnapshot>): AlertOccurrence[] {
  const out: AlertOccurrence[] = [];
  for (const [id, s] of alerts) {
    const c = s.context;
    if (c.rule === undefined || c.key === undefined) continue;
    const openedAt = c.openedAt ?? 0;
    out.push({ id, rule: c.rule, key: c.key, state: stateName(s), openedAt, n: occurrenceOf(id) });
  }
  return out;
}
