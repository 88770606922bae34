import type { Command } from 'commander';
import { printJson, table, time, withApi } from './api-cli.js';
import { env } from './connection.js';

const OPS = ['drain', 'undrain', 'cordon', 'uncordon'] as const;
type NodeOp = (typeof OPS)[number];

/**
 * Register `nodes` (capacity, use, state, last heartbeat) and `node drain|undrain|cordon|uncordon
 * NODE` (admins: through the node's machine, recorded with who and why).
 */
export function registerNodeCommands(program: Command): void {
  program
    .command('nodes')
    .description('nodes with capacity, use and state')
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const nodes = await api.nodes();
        if (o.json) return printJson(nodes);
        const rows = nodes.map((n) => [
          n.id,
          n.state,
          `${n.used.cpus}/${n.cpus}`,
          `${n.used.memMb}/${n.memMb}`,
          `${n.used.gpus}/${n.gpus}`,
          n.workers,
          Object.entries(n.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',') || '-',
          time(n.lastHeartbeatAt),
        ]);
        const head = ['node', 'state', 'cpus', 'mem MB', 'gpus', 'workers', 'labels', 'heartbeat'];
        console.log(nodes.length ? table([head, ...rows]) : 'no nodes');
      });
    });
  const node = program.command('node').description('drain, undrain, cordon or uncordon a node');
  for (const op of OPS) {
    node
      .command(op)
      .description(`${op} a node`)
      .argument('<node>', 'node id')
      .option('--reason <text>', 'why (recorded in the log)')
      .option('--json', 'print one JSON document')
      .action(async (id: string, o: { json?: boolean; reason?: string }) => {
        await withApi(o.json === true, async (api) => {
          const out = await api.node(op as NodeOp, id, {
            by: env.user,
            ...(o.reason !== undefined && { reason: o.reason }),
          });
          if (o.json) printJson(out);
          else console.log(`${out.node}: ${out.state}`);
        });
      });
  }
}
