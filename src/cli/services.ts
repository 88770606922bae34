import type { NatsConnection } from '@nats-io/transport-node';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ErrorCodes, SchedulerError, parseMemoryMb, type Resources } from '../events/index.js';
import { runAgent, type Agent, type AgentMetricsFamily } from '../node-agent/index.js';
import { env } from './connection.js';
import { offThreadRenewal } from './lease-renewer.js';
import {
  heapRelease,
  runScheduler,
  type Scheduler,
  type SchedulerMetrics,
} from '../scheduler/main.js';

export interface AgentFlags {
  node?: string;
  cpus?: string;
  mem?: string;
  gpus?: string;
  label?: string[];
}

/**
 * `k=v` flags (`--label`, `--env`, `--label-constraint`) as a record; a malformed one is a
 * bad-input error naming the flag it came from.
 */
export function parseLabels(
  flags: readonly string[] = [],
  flagName = '--label',
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const flag of flags) {
    const at = flag.indexOf('=');
    if (at <= 0)
      throw new SchedulerError(ErrorCodes.BadInput, `${flagName} ${flag}: expected key=value`);
    labels[flag.slice(0, at)] = flag.slice(at + 1);
  }
  return labels;
}

/** Capacity overrides from the command line (`--cpus 4 --mem 8G --gpus 1`). */
export function parseCapacity(flags: AgentFlags): Partial<Resources> {
  const out: Partial<Resources> = {};
  if (flags.cpus !== undefined) {
    const cpus = Number(flags.cpus);
    if (!(cpus > 0))
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `--cpus ${flags.cpus}: expected a positive number`,
      );
    out.cpus = cpus;
  }
  if (flags.mem !== undefined) {
    const memMb = parseMemoryMb(flags.mem);
    if (memMb === undefined || memMb <= 0)
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `--mem ${flags.mem}: expected a size like 512M or 8G`,
      );
    out.memMb = memMb;
  }
  if (flags.gpus !== undefined) {
    const gpus = Number(flags.gpus);
    if (!Number.isInteger(gpus) || gpus < 0)
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `--gpus ${flags.gpus}: expected a whole number`,
      );
    out.gpus = gpus;
  }
  return out;
}

/** Optional tuning from the environment (README: "Tuning"); absent means the defaults. */
function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new SchedulerError(ErrorCodes.BadInput, `${name}=${v}: expected milliseconds`);
  return n;
}

export async function startAgentFromFlags(
  nc: NatsConnection,
  logger: Logger,
  dataDir: string,
  flags: AgentFlags,
  metrics?: AgentMetricsFamily,
): Promise<Agent> {
  return runAgent({
    nc,
    ...(metrics && { metrics }),
    logger,
    node: flags.node ?? hostname().replace(/[^A-Za-z0-9_-]/g, '-'),
    dataDir,
    capacity: parseCapacity(flags),
    labels: parseLabels(flags.label),
    ...(envMs('DROVER_HEARTBEAT_MS') !== undefined && {
      heartbeatMs: envMs('DROVER_HEARTBEAT_MS'),
    }),
  });
}

export async function startSchedulerService(
  nc: NatsConnection,
  logger: Logger,
  metrics?: SchedulerMetrics,
  /** The servers `nc` was connected to (the lease renewer thread connects there too). */
  url: string = env.natsUrl,
): Promise<Scheduler> {
  const leaseTtlMs = envMs('DROVER_LEASE_TTL_MS');
  const nodeLostMs = envMs('DROVER_NODE_LOST_MS');
  const backoffMs = envMs('DROVER_RETRY_BACKOFF_MS');
  return runScheduler({
    nc,
    logger,
    ...(metrics && { metrics }),
    ...(process.env.DROVER_SCHEDULER_ID && { holder: process.env.DROVER_SCHEDULER_ID }),
    ...(leaseTtlMs !== undefined && { leaseTtlMs }),
    ...(nodeLostMs !== undefined && { nodeLostMs }),
    ...(backoffMs !== undefined && { backoff: { baseMs: backoffMs, maxMs: backoffMs * 60 } }),
    // The process is the scheduler's own: it may give its heap back after catch-up and bursts.
    releaseHeap: heapRelease(logger),
    // ... and renew its lease from a thread of its own: a blocked loop does not hand over the
    // lease (scheduler/lease-renewal.ts).
    leaseRenewal: offThreadRenewal(url),
    ...(pipelineFlag() && { pipeline: true }),
  });
}

/**
 * `DROVER_PIPELINE`: `1` (or `true`) turns pipelining on, `0`/`false`/unset leaves it off;
 * anything else is refused, naming the variable.
 */
export function pipelineFlag(value = process.env.DROVER_PIPELINE): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new SchedulerError(
    ErrorCodes.BadInput,
    `DROVER_PIPELINE must be 1, true, 0 or false (got ${JSON.stringify(value)})`,
  );
}

/** Stop on the first Ctrl-C (agents drain... unless a second Ctrl-C asks to terminate). */
export function onInterrupt(stop: (mode: 'drain' | 'terminate') => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    const mode = stopping ? 'terminate' : 'drain';
    stopping = true;
    void stop(mode).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', () => {
    stopping = true;
    handler();
  });
}
