import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ErrorCodes, SchedulerError, createJetStreamEventLog } from '../events/index.js';
import {
  DEFAULT_READ_RETENTION_MS,
  startApiService,
  type ApiMetrics,
  type ApiService,
} from '../api/index.js';
import { loadAlertRules, startAlerting } from '../alerts/index.js';
import { createEntityRuntime } from '../actors/index.js';
import { runDeadlinesOf, startRunNotifier } from '../notify/index.js';
import { startCheckpointWriter } from '../projections/index.js';
import { failWith } from './api-cli.js';
import { fail, rootLogger, startOnFarm } from './connection.js';
import { parseMetricsPort, processMetrics, serveMetricsPort } from './metrics-services.js';
import { onInterrupt } from './services.js';
import { heapRelease } from '../scheduler/main.js';

/**
 * `DROVER_READ_RETENTION` (`24h`, `90m`, `3600s`, or `forever`): how long a finished job stays in
 * the API's and the dashboard's read models; undefined when unset (the service's default). Bad
 * input names the variable.
 */
export function readRetentionFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): number | undefined {
  const text = env.DROVER_READ_RETENTION?.trim();
  if (!text) return undefined;
  if (text === 'forever') return Infinity;
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text);
  if (!m) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `DROVER_READ_RETENTION=${text}: expected a duration like 24h, 90m or 3600s, or forever`,
    );
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
  return Number(m[1]) * unit * 1000;
}

/**
 * How long a finished job stays in the API's and the dashboard's read models: the operator's
 * `DROVER_READ_RETENTION`, or `DEFAULT_READ_RETENTION_MS`. Both use the same, so the dashboard
 * lists what `drover jobs --all` lists.
 */
export function readRetentionMs(): number {
  return readRetentionFromEnv() ?? DEFAULT_READ_RETENTION_MS;
}

/**
 * Start the NATS API service (`drover.api.*`) on `nc`, and beside it the projections' checkpoint
 * writer: the API is the long-running service every farm runs (`drover up`, `drover scheduler`,
 * `drover api`), so the CLI's projection commands find fresh checkpoints and never write them.
 */
export async function startApi(
  nc: NatsConnection,
  logger: Logger,
  metrics?: ApiMetrics,
): Promise<ApiService> {
  // A bad alerts.yaml stops the service before it starts (BAD_INPUT, the file and field named).
  const loaded = await loadAlertRules();
  const api = await startApiService({
    nc,
    logger,
    readRetentionMs: readRetentionMs(),
    ...(metrics && { metrics }),
  });
  const checkpoints = await startCheckpointWriter({ nc, logger }).catch(async (err: unknown) => {
    await api.stop();
    throw err;
  });
  // The alert evaluator runs wherever the API does (src/alerts: why not in the scheduler).
  const eventLog = await createJetStreamEventLog(nc);
  const interval = Number(process.env.DROVER_ALERT_INTERVAL_MS) || undefined;
  const alerting = startAlerting({
    nc,
    eventLog,
    live: api.live,
    loaded,
    logger,
    ...(interval && { intervalMs: interval }),
    leaseStaleMs: 2 * (Number(process.env.DROVER_LEASE_TTL_MS) || 5000),
    feeds: { runDeadlines: (model) => runDeadlinesOf(model) },
  });
  // Workflows' webhooks (retry, failure, success, missed) are sent beside the API too.
  const notifyInterval = Number(process.env.DROVER_NOTIFY_INTERVAL_MS) || undefined;
  const notifier = startRunNotifier({
    runtime: createEntityRuntime({ eventLog }),
    live: api.live,
    logger,
    ...(notifyInterval && { intervalMs: notifyInterval }),
  });
  return {
    live: api.live,
    async stop() {
      await notifier.stop();
      await alerting.stop();
      await checkpoints.stop();
      await api.stop();
      await eventLog.close();
    },
  };
}

/** Register `drover api`: the NATS API service alone (any number may run: a queue group). */
export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description('serve the NATS API (drover.api.*) for the CLI and other services')
    .option('--metrics-port <n>', 'serve Prometheus metrics on http://<host>:<n>/metrics')
    .option('--json', 'print one JSON document once serving')
    .action(async (opts: { json?: boolean; metricsPort?: string }) => {
      const json = opts.json === true;
      let port: number | undefined;
      try {
        port = parseMetricsPort(opts.metricsPort);
      } catch (err) {
        fail(ErrorCodes.BadInput, (err as Error).message, json);
      }
      try {
        const logger = rootLogger('api');
        const metrics = processMetrics();
        const apiMetrics = metrics.api();
        const { nc, service: api } = await startOnFarm((nc) => startApi(nc, logger, apiMetrics), {
          logger,
        });
        // The read model's catch-up garbage (every decoded event) is given back once it serves.
        heapRelease(logger)('api caught up', 'catch-up');
        const served = await serveMetricsPort(port, metrics, logger);
        if (json)
          console.log(
            JSON.stringify({ serving: 'drover.api.>', ...(served && { metrics: served.url }) }),
          );
        onInterrupt(async () => {
          await served?.stop();
          await api.stop();
          await nc.close();
        });
      } catch (err) {
        failWith(err, json);
      }
    });
}
