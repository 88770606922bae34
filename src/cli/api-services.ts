import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { ErrorCodes } from '../events/index.js';
import { startApiService, type ApiMetrics, type ApiService } from '../api/index.js';
import { startCheckpointWriter } from '../projections/index.js';
import { connectFarm, fail, rootLogger } from './connection.js';
import { parseMetricsPort, processMetrics, serveMetricsPort } from './metrics-services.js';
import { onInterrupt } from './services.js';

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
  const api = await startApiService({ nc, logger, ...(metrics && { metrics }) });
  const checkpoints = await startCheckpointWriter({ nc, logger }).catch(async (err: unknown) => {
    await api.stop();
    throw err;
  });
  return {
    live: api.live,
    async stop() {
      await checkpoints.stop();
      await api.stop();
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
        const nc = await connectFarm();
        const logger = rootLogger('api');
        const metrics = processMetrics();
        const api = await startApi(nc, logger, metrics.api());
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
        fail('UNAVAILABLE', (err as Error).message, opts.json === true);
      }
    });
}
