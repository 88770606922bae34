import {
  promiseBehaviour,
  stateName,
  type EntityRuntime,
  type PromiseCommand,
} from '../actors/index.js';
import type { Actor } from '../events/index.js';
import type { Logger } from 'pino';
import type { Change } from './entity-view.js';

/** A start-by promise the leader broke: what `onPromiseBroken` is told (alerts, notifications). */
export interface BrokenPromise {
  readonly jobId: string;
  readonly user: string;
  readonly startBy: number;
  readonly why: string;
}

interface Pending {
  readonly user: string;
  readonly startBy: number;
  started?: { seq: number; at: number; chunk: string };
  busy?: boolean;
}

export interface PromiseKeeperDeps {
  readonly runtime: EntityRuntime;
  readonly by: Actor;
  readonly canWrite: () => boolean;
  readonly logger: Logger;
  /**
   * Called with the promises a tick broke, after their `promise.broken` is in the log: the hook
   * for notifications and the "broken start-by promise" alert rule (which takes such a list).
   */
  readonly onPromiseBroken?: (broken: readonly BrokenPromise[]) => void;
}

/**
 * Keeps start-by promises: the pending ones (their jobs go first in every round), the first start
 * of a promised job seen in the log (`chunk.started`: its sequence is the proof), and, on the
 * leader's tick, `promise.kept` for a started job or `promise.broken` once start-by has passed
 * without a start. Its own small state, fed by the leader's `changed` like the index.
 */
export class PromiseKeeper {
  private readonly pending = new Map<string, Pending>();
  private readonly jobs = new Set<string>();

  constructor(private readonly deps: PromiseKeeperDeps) {}

  observe(c: Change): void {
    if (c.entity === 'promise') {
      const a = c.state.context.accepted;
      if (a && stateName(c.state) === 'pending') {
        if (!this.pending.has(c.id)) this.pending.set(c.id, { user: a.user, startBy: a.startBy });
      } else this.pending.delete(c.id);
      this.jobs.clear();
      for (const id of this.pending.keys()) this.jobs.add(id);
      return;
    }
    if (c.entity !== 'chunk' || stateName(c.state) !== 'running' || c.seq === undefined) return;
    const jobId = c.id.slice(0, c.id.lastIndexOf(':'));
    const p = this.pending.get(jobId);
    if (p && !p.started) p.started = { seq: c.seq, at: c.at ?? 0, chunk: c.id };
  }

  /** Pending promises whose job has not started yet (preemption's candidates). */
  *waitingStart(): Iterable<{ jobId: string; startBy: number }> {
    for (const [jobId, p] of this.pending) if (!p.started) yield { jobId, startBy: p.startBy };
  }

  /** Jobs with a pending promise: placed ahead of fair-share order. */
  promised(): ReadonlySet<string> {
    return this.jobs;
  }

  /** The leader's tick: keep the started, break the late (and tell `onPromiseBroken`). */
  tick(now: number): void {
    if (!this.deps.canWrite()) return;
    const broken: Promise<BrokenPromise | undefined>[] = [];
    for (const [jobId, p] of this.pending) {
      if (p.busy) continue;
      if (p.started && p.started.at <= p.startBy) {
        const { seq, at, chunk } = p.started;
        void this.judge(jobId, p, now, 'KeepPromise', { startedSeq: seq, startedAt: at, chunk });
      } else if (now > p.startBy) {
        const why = p.started
          ? `started at ${new Date(p.started.at).toISOString()}, after its start-by`
          : `not started by ${new Date(p.startBy).toISOString()}`;
        broken.push(
          this.judge(jobId, p, now, 'BreakPromise', { why }).then((ok) =>
            ok ? { jobId, user: p.user, startBy: p.startBy, why } : undefined,
          ),
        );
      }
    }
    if (broken.length === 0) return;
    void Promise.all(broken)
      .then((all) => {
        const list = all.filter((b): b is BrokenPromise => b !== undefined);
        if (list.length > 0) onPromiseBroken(this.deps, list);
      })
      // The hook is the caller's (alerts, notifications): its failure is logged, not a crash.
      .catch((err: unknown) => this.deps.logger.error({ err }, 'broken promises not told'));
  }

  private async judge<T extends 'KeepPromise' | 'BreakPromise'>(
    jobId: string,
    p: Pending,
    now: number,
    type: T,
    data: Extract<PromiseCommand, { type: T }>['data'],
  ): Promise<boolean> {
    p.busy = true;
    try {
      const out = await this.deps.runtime.execute(promiseBehaviour, jobId, {
        type,
        id: `promise:${jobId}:${type}`,
        at: now,
        by: this.deps.by,
        data,
      } as PromiseCommand);
      if (!out.ok) this.deps.logger.warn({ jobId, why: out.rejection.message }, 'promise refused');
      return out.ok;
    } catch (err) {
      this.deps.logger.error({ err, jobId }, 'promise judgement failed');
      return false;
    } finally {
      p.busy = false;
    }
  }
}

/**
 * The hook for broken start-by promises: logs them and hands the list to the deps' callback (the
 * alerts branch's "broken start-by promise" rule and notifications plug in here).
 */
export function onPromiseBroken(deps: PromiseKeeperDeps, broken: readonly BrokenPromise[]): void {
  deps.logger.warn({ jobs: broken.map((b) => b.jobId) }, 'start-by promises broken');
  deps.onPromiseBroken?.(broken);
}
