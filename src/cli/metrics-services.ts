import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApiMetrics, type ApiMetrics } from '../api/index.js';
import { ErrorCodes, SchedulerError } from '../events/index.js';
import {
  mergeRegistries,
  processRegistry,
  serveMetrics,
  serviceRegistry,
  type MetricsServer,
} from '../metrics/index.js';
import { createAgentMetrics, type AgentMetricsFamily } from '../node-agent/index.js';
import { createSchedulerMetrics, type SchedulerMetrics } from '../scheduler/main.js';

/** `--metrics-port N` as a port; a bad one is BAD_INPUT naming the flag. Pure. */
export function parseMetricsPort(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const port = Number(flag);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SchedulerError(ErrorCodes.BadInput, `--metrics-port ${flag}: expected 0 to 65535`);
  return port;
}

/**
 * The metrics of the services this process runs, one registry each, made on first use (so
 * `drover agent`'s page has no scheduler metrics at zero), plus one registry of process
 * metrics. `registries()` lists the ones made, for one merged page.
 */
export interface ProcessMetrics {
  scheduler(): SchedulerMetrics;
  api(): ApiMetrics;
  agents(): AgentMetricsFamily;
  registries(): Registry[];
}

export function processMetrics(): ProcessMetrics {
  const made: Registry[] = [processRegistry()];
  const once = <T>(make: (r: Registry) => T) => {
    let value: T | undefined;
    return () => {
      if (value === undefined) {
        const registry = serviceRegistry();
        made.push(registry);
        value = make(registry);
      }
      return value;
    };
  };
  return {
    scheduler: once(createSchedulerMetrics),
    api: once(createApiMetrics),
    agents: once(createAgentMetrics),
    registries: () => [...made],
  };
}

/** Serve the process's metrics on `port` when one was given (`--metrics-port`). */
export async function serveMetricsPort(
  port: number | undefined,
  metrics: ProcessMetrics,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  if (port === undefined) return undefined;
  return serveMetrics({ registry: mergeRegistries(metrics.registries()), port, logger });
}
