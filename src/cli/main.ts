import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createApiClient } from '../api/index.js';
import { startDashboard } from '../dashboard/index.js';
import { env, fail, rootLogger, startOnFarm } from './connection.js';
import {
  onInterrupt,
  parseCapacity,
  parseLabels,
  startAgentFromFlags,
  startSchedulerService,
  type AgentFlags,
} from './services.js';
import { registerUpCommand } from './up-command.js';
import { keepLeading } from './standby.js';
import { registerProjectionCommands } from './projection-commands.js';
import { failWith } from './api-cli.js';
import { contractParseErrors } from './parse-errors.js';
import { readRetentionMs, registerApiCommand, startApi } from './api-services.js';
import { registerAlertCommands } from './alert-commands.js';
import { registerCalendarCommands } from './calendar-commands.js';
import { registerPromisesCommand } from './promises-commands.js';
import { registerReservationCommands } from './reservation-commands.js';
import { parseMetricsPort, processMetrics, serveMetricsPort } from './metrics-services.js';
import { registerCancelCommands } from './cancel-commands.js';
import { registerEnvironmentCommands } from './environment-commands.js';
import { registerJobCommands } from './job-commands.js';
import { registerLogCommands } from './log-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerRunbookCommands } from './runbook-commands.js';
import { registerPolicyCommands } from './policy-commands.js';
import { registerMemDefaultCommands } from './mem-default-commands.js';
import { registerSqlSinkCommand } from './sql-sink-command.js';
import { registerSubmitCommand } from './submit-command.js';
import { registerAllocCommand } from './alloc-command.js';
import { registerRunCommand } from './run-command.js';
import { registerSessionsCommand } from './sessions-command.js';
import { registerWorkflowCommands } from './workflow-commands.js';
import { registerRerunCommand } from './rerun-command.js';

/** package.json's version (src/cli and dist/cli are both two levels below it). */
const { version } = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
) as { version: string };

const program = contractParseErrors(
  // Positional: the program's own options (`--version`) come before a command, so a command's
  // `--version N` (`calendar sessions`) is that command's, not a request for drover's version.
  new Command('drover')
    .description('Event-sourced scheduler for compute farms')
    .enablePositionalOptions()
    .version(version, '-V, --version', 'print the version of drover'),
  process.argv.slice(2),
);
registerUpCommand(program);

program
  .command('scheduler')
  .description('run a scheduler (many may run: one leads through a lease, the others stand by)')
  .option('--no-api', 'do not also serve the NATS API (drover.api.*)')
  .option('--metrics-port <n>', 'serve Prometheus metrics on http://<host>:<n>/metrics')
  .option('--json', 'print one JSON document each time it comes to lead')
  .action(async (opts: { json?: boolean; api?: boolean; metricsPort?: string }) => {
    let port: number | undefined;
    try {
      port = parseMetricsPort(opts.metricsPort);
    } catch (err) {
      failWith(err, opts.json === true);
    }
    try {
      const logger = rootLogger('scheduler');
      const metrics = processMetrics();
      const apiMetrics = metrics.api();
      // Served before the lease is won, and while waiting for NATS: a standby is scraped too
      // (drover_scheduler_leader 0).
      const schedulerMetrics = metrics.scheduler();
      const served = await serveMetricsPort(port, metrics, logger);
      // The API is served as soon as the farm answers, and whatever the lease does: a standby
      // answers too, and neither waiting for the lease nor losing it takes the API down (the
      // chaos run's API went silent when a standby's wait failed: issue 23).
      const { nc, service: api } = await startOnFarm(
        async (nc) => (opts.api === false ? undefined : await startApi(nc, logger, apiMetrics)),
        { logger },
      );
      // One document each time this process comes to lead (again, after being deposed).
      const announce = (s: { epoch: number }) => {
        if (opts.json)
          console.log(JSON.stringify({ epoch: s.epoch, ...(served && { metrics: served.url }) }));
      };
      // A deposed leader (paused past its lease, cut off from the cluster) stands by to lead
      // again in the same process: exiting left the farm one standby short under a supervisor
      // that restarts failures only (it exited 0), and dropped the API it serves beside.
      const leadership = keepLeading({
        lead: () => startSchedulerService(nc, logger, schedulerMetrics),
        logger,
        onLead: announce,
        onFatal: (err) => failWith(err, opts.json === true),
      });
      onInterrupt(async () => {
        await served?.stop();
        await api?.stop();
        await leadership.stop();
        await nc.close();
      });
    } catch (err) {
      failWith(err, opts.json === true);
    }
  });

program
  .command('agent')
  .description('run a node agent for this machine')
  .option('--node <id>', 'node id (default: the hostname)')
  .option('--cpus <n>', 'CPUs to offer (default: all)')
  .option('--mem <size>', 'memory to offer, e.g. 16G (default: all)')
  .option('--gpus <n>', 'GPUs to offer (default: nvidia-smi -L)')
  .option(
    '--label <k=v>',
    'node label (repeatable)',
    (v: string, all: string[]) => [...all, v],
    [] as string[],
  )
  .option('--metrics-port <n>', 'serve Prometheus metrics on http://<host>:<n>/metrics')
  .option('--json', 'print one JSON document once registered')
  .action(async (opts: AgentFlags & { json?: boolean; metricsPort?: string }) => {
    try {
      parseCapacity(opts); // a bad flag is BAD_INPUT (exit 2) before NATS is even asked
      parseLabels(opts.label);
      const port = parseMetricsPort(opts.metricsPort);
      const logger = rootLogger('agent');
      const metrics = processMetrics();
      const agentMetrics = metrics.agents();
      const { nc, service: agent } = await startOnFarm(
        (nc) => startAgentFromFlags(nc, logger, env.dataDir, opts, agentMetrics),
        { logger },
      );
      const served = await serveMetricsPort(port, metrics, logger);
      if (opts.json)
        console.log(
          JSON.stringify({
            node: agent.node,
            reconciled: agent.reconciled,
            ...(served && { metrics: served.url }),
          }),
        );
      onInterrupt(async (mode) => {
        await served?.stop();
        await agent.stop(mode);
        await nc.close();
      });
    } catch (err) {
      failWith(err, opts.json === true);
    }
  });

program
  .command('dashboard')
  .description(
    'serve the dashboard on http://127.0.0.1:$DROVER_HTTP_PORT (reads the log, acts through the API)',
  )
  .option('--port <n>', 'HTTP port (default DROVER_HTTP_PORT or 8080)')
  .option('--as <user>', "act on that user's own API surface (where roles are enforced)")
  .option('--json', 'print one JSON document once serving')
  .action(async (opts: { port?: string; as?: string; json?: boolean }) => {
    const json = opts.json === true;
    const port = Number(opts.port ?? env.httpPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      fail('BAD_INPUT', `--port ${opts.port}: expected 0 to 65535`, json);
    try {
      const logger = rootLogger('dashboard');
      const { nc, service: dashboard } = await startOnFarm(
        (nc) =>
          startDashboard({
            nc,
            logger,
            port,
            readRetentionMs: readRetentionMs(),
            ...(opts.as && { client: createApiClient(nc, { as: opts.as }) }),
          }),
        { logger },
      );
      if (json) console.log(JSON.stringify({ url: dashboard.url }));
      else console.log(`drover: dashboard on ${dashboard.url}; Ctrl-C stops`);
      onInterrupt(async () => {
        await dashboard.stop();
        await nc.close();
      });
    } catch (err) {
      failWith(err, json);
    }
  });

registerSubmitCommand(program);
registerRunCommand(program);
registerAllocCommand(program);
registerSessionsCommand(program);
registerJobCommands(program);
registerEnvironmentCommands(program);
registerCancelCommands(program);
registerNodeCommands(program);
registerApiCommand(program);
registerProjectionCommands(program);
registerPolicyCommands(program);
registerMemDefaultCommands(program);
registerCalendarCommands(program);
registerReservationCommands(program);
registerWorkflowCommands(program);
registerRerunCommand(program);
registerPromisesCommand(program);
registerLogCommands(program);
registerSqlSinkCommand(program);
registerAlertCommands(program);
registerRunbookCommands(program);

await program.parseAsync(process.argv);
