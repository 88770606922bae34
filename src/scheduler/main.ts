import type { BrokenPromise } from './promise-keeper.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createJetStreamEventLog } from '../events/index.js';
import type { Backoff, FairShareConfig, PreemptionParams } from '../policy/index.js';
import type { HeapRelease } from './heap-release.service.js';
import type { OffThreadRenewal } from './lease-renewal.js';
import { noSchedulerMetrics, type SchedulerMetrics } from './scheduler-metrics.js';
import { startScheduler, type Scheduler } from './scheduler.service.js';

export interface SchedulerMainOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly holder?: string;
  readonly leaseTtlMs?: number;
  readonly nodeLostMs?: number;
  readonly fairShare?: Partial<FairShareConfig>;
  readonly backoff?: Backoff;
  readonly signal?: AbortSignal;
  /** Where the scheduler reports (`createSchedulerMetrics`); default nowhere. */
  readonly metrics?: SchedulerMetrics;
  /** Told of start-by promises the leader broke (alerts and notifications plug in here). */
  readonly onPromiseBroken?: (broken: readonly BrokenPromise[]) => void;
  /** Preemption's guards (default `DEFAULT_PREEMPTION`). */
  readonly preemption?: Partial<PreemptionParams>;
  /** How long a finished job stays in memory (default `RETIRE_AFTER_MS`). */
  readonly retireAfterMs?: number;
  /** Gives the heap back after catch-up and note bursts (`heapRelease`); the CLI's process. */
  readonly releaseHeap?: HeapRelease;
  /** Pipelining (see `SchedulerOptions.pipeline`). */
  readonly pipeline?: boolean;
  /** Renew the lease from a thread of its own (`OffThreadRenewal`); default on this loop. */
  readonly leaseRenewal?: OffThreadRenewal;
}

/**
 * Composition root of a scheduler: waits for the lease (a standby waits here), then leads until
 * stopped or deposed. Many may run; one leads.
 */
export async function runScheduler(opts: SchedulerMainOptions): Promise<Scheduler> {
  const eventLog = await createJetStreamEventLog(opts.nc);
  // Reads only (the ends of compacted jobs the timekeeper needs); appends go through `eventLog`.
  const history = await createJetStreamEventLog(opts.nc, { readArchive: true });
  const metrics = opts.metrics ?? noSchedulerMetrics;
  metrics.leading(0, false);
  metrics.watchHead(() => eventLog.lastSeq());
  const scheduler = await startScheduler({
    nc: opts.nc,
    eventLog,
    history,
    metrics,
    logger: opts.logger.child({ component: 'scheduler' }),
    holder: opts.holder ?? `${hostname()}-${process.pid}`,
    ...(opts.leaseTtlMs !== undefined && { leaseTtlMs: opts.leaseTtlMs }),
    ...(opts.nodeLostMs !== undefined && { nodeLostMs: opts.nodeLostMs }),
    ...(opts.fairShare && { fairShare: opts.fairShare }),
    ...(opts.backoff && { backoff: opts.backoff }),
    ...(opts.signal && { signal: opts.signal }),
    ...(opts.onPromiseBroken && { onPromiseBroken: opts.onPromiseBroken }),
    ...(opts.preemption && { preemption: opts.preemption }),
    ...(opts.retireAfterMs !== undefined && { retireAfterMs: opts.retireAfterMs }),
    ...(opts.releaseHeap && { releaseHeap: opts.releaseHeap }),
    ...(opts.pipeline && { pipeline: true }),
    ...(opts.leaseRenewal && { leaseRenewal: opts.leaseRenewal }),
  }).catch(async (err: unknown) => {
    // A failed start is tried again on the same connection (cli/standby.ts): nothing stays.
    await eventLog.close().catch(() => undefined);
    await history.close().catch(() => undefined);
    throw err;
  });
  metrics.leading(scheduler.epoch, true);
  void scheduler.lost.then(() => metrics.leading(scheduler.epoch, false));
  return {
    ...scheduler,
    async stop() {
      await scheduler.stop();
      await eventLog.close();
      await history.close();
    },
  };
}

export { heapRelease } from './heap-release.service.js';
export type { OffThreadRenewal } from './lease-renewal.js';
export type { HeapRelease } from './heap-release.service.js';
export { ensureLeaseBucket } from './lease.jetstream.js';
export { startScheduler } from './scheduler.service.js';
export type { Scheduler, SchedulerHeld, SchedulerOptions } from './scheduler.service.js';
export { createSchedulerMetrics, noSchedulerMetrics, queueDepth } from './scheduler-metrics.js';
export type { SchedulerMetrics } from './scheduler-metrics.js';
