import type { Command } from 'commander';
import type { Agent } from '../node-agent/main.js';
import { startDashboard } from '../dashboard/index.js';
import { readRetentionMs, startApi } from './api-services.js';
import { processMetrics } from './metrics-services.js';
import { connectFarm, env, fail, rootLogger } from './connection.js';
import { submitDemo } from './demo.js';
import { farmStopper } from './farm-stop.js';
import { farmServer, FarmRefused, refuseRunningFarm, type FarmServer } from './farm-server.js';
import { natsVersionWarning } from './nats-binary.js';
import { onInterrupt, startAgentFromFlags, startSchedulerService } from './services.js';

interface UpOptions {
  nodes: string;
  demo?: boolean;
  json?: boolean;
}

/**
 * `drover up`: a local farm. The nats-server it starts is out of the terminal's process group
 * and stopped last, so the first Ctrl-C drains with the log still there to record every end.
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description(
      'run a local farm: nats-server with nats.conf (or the Drover JetStream at DROVER_NATS_URL), the scheduler and node agents',
    )
    .option('--nodes <n>', 'node agents to run', '2')
    .option('--demo', 'also submit a sample workload')
    .option('--json', 'print one JSON document')
    .action(async (opts: UpOptions) => {
      const json = opts.json === true;
      let server: FarmServer | undefined;
      try {
        const nodes = Number(opts.nodes);
        if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)
          fail('BAD_INPUT', `--nodes ${opts.nodes}: expected 1 to 64`, json);
        const explicit = process.env.DROVER_NATS_URL !== undefined;
        server = await farmServer(env.natsUrl, env.dataDir, explicit);
        await runFarm(server, nodes, opts);
      } catch (err) {
        await server?.stop();
        if (err instanceof FarmRefused) fail('REFUSED', err.message, json);
        fail('UNAVAILABLE', (err as Error).message, json);
      }
    });
}

async function runFarm(server: FarmServer, count: number, opts: UpOptions): Promise<void> {
  const nc = await connectFarm(server.url);
  const names = Array.from({ length: count }, (_, i) => `node-${i + 1}`);
  if (!server.started) {
    const beat = Number(process.env.DROVER_HEARTBEAT_MS ?? 1000);
    await refuseRunningFarm(nc, server.url, names, beat).catch(async (err: unknown) => {
      await nc.close();
      throw err;
    });
  }
  // The server that answered, whoever started it: its version decides what an ack promises.
  const natsVersion = nc.info?.version;
  const warning = natsVersionWarning(natsVersion);
  if (warning) console.error(`drover: warning: ${warning}`);
  const logger = rootLogger('drover');
  // One registry per service; the dashboard's /metrics shows them merged.
  const metrics = processMetrics();
  const agents: Agent[] = [];
  for (const node of names)
    agents.push(await startAgentFromFlags(nc, logger, env.dataDir, { node }, metrics.agents()));
  const api = await startApi(nc, logger, metrics.api());
  const scheduler = await startSchedulerService(nc, logger, metrics.scheduler(), server.url);
  // A busy port must not take the farm down with it: warn, and run without the dashboard.
  const dashboard = await startDashboard({
    nc,
    logger,
    port: env.httpPort,
    registries: metrics.registries(),
    readRetentionMs: readRetentionMs(),
  }).catch((err: unknown) => {
    logger.warn({ err, port: env.httpPort }, 'dashboard not started: set DROVER_HTTP_PORT');
    return undefined;
  });
  const demo = opts.demo ? await submitDemo(nc, env.user) : undefined;
  const status = {
    nats: server.url,
    natsVersion: natsVersion ?? null,
    startedNats: server.started !== undefined,
    nodes: agents.map((a) => a.node),
    epoch: scheduler.epoch,
    dashboard: dashboard?.url ?? null,
    ...(demo && { demo }),
  };
  if (opts.json) console.log(JSON.stringify(status));
  else printStatus(server, natsVersion, status.nodes, dashboard?.url, demo);
  onInterrupt(
    farmStopper({
      nc,
      agents,
      services: [async () => dashboard?.stop(), () => api.stop(), () => scheduler.stop()],
      server,
    }),
  );
}

function printStatus(
  server: FarmServer,
  version: string | undefined,
  nodes: readonly string[],
  dashboard: string | undefined,
  demo: Record<string, string> | undefined,
): void {
  console.log(
    `drover: farm up on ${server.url} (nats-server ${version ?? '?'}, ${server.how}), nodes ${nodes.join(', ')}, dashboard ${dashboard ?? 'not started'}; Ctrl-C drains, a second Ctrl-C stops`,
  );
  if (demo)
    console.log(
      `drover: demo submitted: ${Object.entries(demo)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}`,
    );
}
