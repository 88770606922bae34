import type { NatsConnection } from '@nats-io/transport-node';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createJetStreamEventLog } from '../events/index.js';
import type { Backoff, FairShareConfig } from '../policy/index.js';
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
}

/**
 * Composition root of a scheduler: waits for the lease (a standby waits here), then leads until
 * stopped or deposed. Many may run; one leads.
 */
export async function runScheduler(opts: SchedulerMainOptions): Promise<Scheduler> {
  return startScheduler({
    nc: opts.nc,
    eventLog: await createJetStreamEventLog(opts.nc),
    logger: opts.logger.child({ component: 'scheduler' }),
    holder: opts.holder ?? `${hostname()}-${process.pid}`,
    ...(opts.leaseTtlMs !== undefined && { leaseTtlMs: opts.leaseTtlMs }),
    ...(opts.nodeLostMs !== undefined && { nodeLostMs: opts.nodeLostMs }),
    ...(opts.fairShare && { fairShare: opts.fairShare }),
    ...(opts.backoff && { backoff: opts.backoff }),
    ...(opts.signal && { signal: opts.signal }),
  });
}

export { ensureLeaseBucket } from './lease.jetstream.js';
export { startScheduler } from './scheduler.service.js';
export type { Scheduler, SchedulerOptions } from './scheduler.service.js';
