import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Actor, EventLog } from '../events/index.js';
import {
  defaultFairShareConfig,
  type Backoff,
  type FairShareConfig,
  type PreemptionParams,
  type UsageHistory,
} from '../policy/index.js';
import { followLog } from './catch-up.service.js';
import { ClosedJobs } from './closed-jobs.service.js';
import { seedIfUnknown } from './entity-view.js';
import { consumeIntake } from './intake.jetstream.js';
import { wireLeader } from './leader-parts.service.js';
import { acquireLease } from './lease.jetstream.js';
import type { OffThreadRenewal } from './lease-renewal.js';
import { NodeWatch } from './node-watch.service.js';
import type { AdmissionStep } from './placement-loop.service.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';
import { startTicker, type TickStep } from './ticker.service.js';
import { PipelineIndex, Timekeeper } from './timekeeper.service.js';
import type { HeapRelease } from './heap-release.service.js';
import type { BrokenPromise } from './promise-keeper.js';
import {
  loadUsageCheckpoint,
  startUsageCheckpoints,
  usageCheckpointBucket,
} from './usage-checkpoint.jetstream.js';
import { deadline } from './turns.service.js';
import { submissionSteps } from './work-messages.js';

export interface SchedulerOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  /** This scheduler's name in the lease and on its events. */
  readonly holder: string;
  readonly leaseTtlMs?: number;
  /** A node whose heartbeats stop for this long is lost (default 10 s). */
  readonly nodeLostMs?: number;
  readonly fairShare?: Partial<FairShareConfig>;
  /** Backoff between counted retries (default: the policy's, 10 s doubling to 10 min). */
  readonly backoff?: Backoff;
  readonly clock?: () => number;
  readonly signal?: AbortSignal;
  /** Steps between a round's plan and its placements (see `AdmissionStep`); none by default. */
  readonly admission?: readonly AdmissionStep[];
  /** Steps added to the once-a-second tick (see `TickStep`: the timekeeper's seam). */
  readonly ticks?: readonly TickStep[];
  /** Told of start-by promises the leader broke (alerts and notifications plug in here). */
  readonly onPromiseBroken?: (broken: readonly BrokenPromise[]) => void;
  /** Preemption's guards (default `DEFAULT_PREEMPTION`). */
  readonly preemption?: Partial<PreemptionParams>;
  /** Where rounds, placements and the tail are reported (default: nowhere). */
  readonly metrics?: SchedulerMetrics;
  /** How long a finished job stays in memory (default `RETIRE_AFTER_MS`: see `Retirement`). */
  readonly retireAfterMs?: number;
  /** Gives the heap back after catch-up and note bursts (`heapRelease`; the CLI's process). */
  readonly releaseHeap?: HeapRelease;
  /**
   * Pipelining (`DROVER_PIPELINE=1`): each node is given up to a second round of work while its
   * slots are full, and its agent starts it as processes exit (`PlacementLoopDeps.pipeline`).
   */
  readonly pipeline?: boolean;
  /** Renew the lease from a thread of its own (`OffThreadRenewal`); default on this loop. */
  readonly leaseRenewal?: OffThreadRenewal;
  /**
   * The log with its archive (`readArchive`), for the ends of jobs compacted away that the
   * timekeeper needs (`dependsOnPast` on a compacted run: `ClosedJobs`). Without it a compacted
   * previous run's tasks read `queued` and the run after it waits.
   */
  readonly history?: Pick<EventLog, 'read'>;
}

/** What the leader holds in memory (tests and the soak check that it stays bounded). */
export interface SchedulerHeld {
  /** Entities in the runtime's cache, every kind. */
  readonly entities: number;
  /** Jobs in the index's submission order (every job it knows). */
  readonly jobs: number;
  /** Finished jobs waiting for their retirement. */
  readonly retiring: number;
}

export interface Scheduler {
  readonly epoch: number;
  /** Resolves when this scheduler stops leading (deposed or stopped). */
  readonly lost: Promise<void>;
  /** Each user's decayed usage as the scheduler ranks by it (tests compare it with a full fold). */
  usage(): UsageHistory;
  /** What this leader holds in memory now. */
  held(): SchedulerHeld;
  stop(): Promise<void>;
}

/**
 * The scheduler service: waits for the lease, folds the live log into memory (usage from its
 * checkpoint on: `usage-checkpoint.jetstream.ts`), then reacts to
 * every change level-triggered (the rules pump), places waiting chunks in fair-share order (the
 * placement loop and launcher), takes submissions from the intake and watches agents' heartbeats
 * (the node watch). Every write carries its fencing epoch; a deposed scheduler's writes are
 * refused by the entities. This function only wires those parts together.
 */
export async function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { nc, eventLog, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const lease = await acquireLease(nc, {
    holder: opts.holder,
    logger,
    ...(opts.leaseTtlMs && { ttlMs: opts.leaseTtlMs }),
    ...(opts.signal && { signal: opts.signal }),
    ...(opts.leaseRenewal && { offThread: opts.leaseRenewal }),
  });
  // A start that fails after the lease was won (JetStream failing during the catch-up) gives
  // back what it started, the lease included: its renewals would otherwise go on, and the
  // retried campaign of the same process (cli/standby.ts) wait for a lease nobody uses.
  const undo: (() => unknown)[] = [];
  try {
    const by: Actor = { kind: 'scheduler', id: opts.holder, epoch: lease.epoch };
    const config: FairShareConfig = { ...defaultFairShareConfig, ...opts.fairShare };
    let stopped = false;
    let releaseAfterTail: HeapRelease = () => {};
    const pipelines = new PipelineIndex();
    const parts = wireLeader({
      observe: (c) => pipelines.note(c),
      ...{ nc, eventLog, logger, clock, by, config },
      canWrite: () => lease.held() && !stopped,
      ...(opts.backoff && { backoff: opts.backoff }),
      ...(opts.admission && { admission: opts.admission }),
      ...(opts.metrics && { metrics: opts.metrics }),
      ...(opts.onPromiseBroken && { onPromiseBroken: opts.onPromiseBroken }),
      ...(opts.preemption && { preemption: opts.preemption }),
      ...(opts.retireAfterMs !== undefined && { retireAfterMs: opts.retireAfterMs }),
      ...(opts.releaseHeap && { releaseHeap: (why, kind) => releaseAfterTail(why, kind) }),
      ...(opts.pipeline && { pipeline: true }),
    });
    const { index, peek, actions, placement, context, sweep } = parts;
    let live = false;
    const watch = new NodeWatch(clock, opts.nodeLostMs);
    const timekeeper = new Timekeeper({
      ...{ runtime: parts.runtime, queue: parts.queue, index: pipelines, peek, context, logger },
      step: (a) => actions.step(a),
      canWrite: () => lease.held() && !stopped,
      changed: parts.changed,
      ...(opts.history && { closedJobs: new ClosedJobs(opts.history) }),
    });
    watch.listen(nc);
    undo.push(() => watch.stop());
    const stopTicker = startTicker(
      [
        () => actions.missed && sweep(), // actions skipped (lease renewal late) or failed
        () => actions.run(watch.check(context(), index)),
        () => parts.launcher.relaunch(index), // launches not acknowledged (an ack lost, say)
        (now) => placement.tick(now), // skipped while the queue is quiet
        timekeeper.step, // fires due runs and moves open runs on (issue 17)
        (now) => parts.promises.tick(now),
        (now) => parts.preemptor.tick(now), // one decision round a second
        (now) => parts.retirement.tick(now, deadline()), // finished jobs leave memory
        ...(opts.ticks ?? []),
      ],
      {
        intervalMs: 1000,
        clock,
        active: () => live && lease.held(),
        onError: (err) => logger.error({ err }, 'tick failed'),
      },
    );
    undo.push(stopTicker);

    const userOf = (jobId: string) => peek.job(jobId)?.context.spec?.user;
    // Usage from the last checkpoint on (exact: a decayed fold), not from the log's first event:
    // compaction may have moved that history out of the live log.
    const usageKv = await usageCheckpointBucket(nc);
    const usageFrom = await loadUsageCheckpoint(usageKv, await eventLog.lastSeq(), logger);
    if (usageFrom) index.resumeUsage(usageFrom);
    const follower = await followLog({
      eventLog,
      runtime: parts.runtime,
      changed: parts.changed,
      event: (e) => {
        index.usage(e, userOf);
        parts.launches.note(e, userOf);
      },
      ...(opts.metrics && { metrics: opts.metrics }),
      logger,
    });
    undo.push(() => follower.stop());
    await follower.caughtUp;
    // A burst's own events come back through the tail after its appends (decoded, folded): the
    // heap is released once the tail has folded what the log held when the burst ended.
    releaseAfterTail = (why, kind) =>
      void (async () => {
        const until = await eventLog.lastLiveSeq();
        // Bounded: a tail that never gets there (its last event compacted away) only delays it.
        for (let i = 0; i < 240 && !stopped && follower.folded < until; i++) await sleep(250);
        if (!stopped && lease.held()) opts.releaseHeap?.(why, kind);
      })().catch((err: unknown) => logger.warn({ err }, 'heap release failed'));
    const intake = await consumeIntake(
      nc,
      logger,
      async (jobId, spec) => {
        const { first, chunks } = submissionSteps(context(), jobId, spec);
        for (const a of [...first, ...chunks])
          if (a.entity !== 'kill') seedIfUnknown(parts.runtime, a);
        for (const a of first) await actions.step(a);
        await Promise.all(chunks.map((a) => actions.step(a)));
      },
      peek,
      parts.recall,
    );
    // What the intake held when this leader took over (a previous leader may have died taking it
    // in) is taken in before any rule runs: no parent ends while its children still wait there.
    undo.push(() => intake.stop());
    await intake.caughtUp;
    // Catch-up's decoded events and earlier states are garbage now: give the pages back.
    opts.releaseHeap?.(`caught up to ${follower.caughtUpAt}`, 'catch-up');
    // Live: a takeover finishes what the previous leader left, and republishes launches it may
    // have appended but not sent.
    live = true;
    parts.goLive();
    sweep();
    parts.launcher.relaunch(index);
    placement.start();
    const usageCheckpoints = startUsageCheckpoints({
      ...{ kv: usageKv, index, logger },
      canWrite: () => lease.held() && !stopped,
    });
    logger.info(
      {
        epoch: lease.epoch,
        events: follower.caughtUpAt,
        openJobs: index.openJobs.size,
        usageFrom: usageFrom?.seq ?? 0,
      },
      'scheduler leads',
    );

    return {
      epoch: lease.epoch,
      lost: lease.lost,
      usage: () => index.history,
      held: () => ({
        entities: parts.runtime.cached(),
        jobs: index.submitSeq.size,
        retiring: parts.retirement.waiting,
      }),
      async stop() {
        await usageCheckpoints.stop();
        stopped = true;
        stopTicker();
        watch.stop();
        await intake.stop();
        await parts.queue.idle();
        await follower.stop();
        await lease.release();
      },
    };
  } catch (err) {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => undefined);
    await lease.release();
    throw err;
  }
}
