import type { Command } from 'commander';
import type { AlertView } from '../api/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { env } from './connection.js';

function alertTable(rows: readonly AlertView[], all: boolean): string {
  if (!rows.length)
    return all ? 'no alerts have fired' : 'no alerts firing (--all shows resolved ones)';
  const head = ['id', 'rule', 'state', 'since', 'resolved', 'acked', 'summary'];
  const body = rows.map((a) => [
    a.id,
    a.rule,
    a.state,
    a.since,
    a.resolvedAt ?? '-',
    a.acks.length ? a.acks.map((k) => k.by).join(',') : '-',
    a.summary,
  ]);
  return table([head, ...body]);
}

/**
 * Register `drover alerts [--all]` (firing alerts, or every one that fired) and `drover alerts
 * ack ID [--note TEXT]` (a person saw it; recorded with who, not needed for it to resolve).
 */
export function registerAlertCommands(program: Command): void {
  const alerts = program
    .command('alerts')
    .description('firing alerts (--all: resolved ones too); they resolve by themselves')
    .option('--all', 'resolved alerts too')
    .option('--json', 'print one JSON document')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const rows = await api.alerts({ all: o.all === true });
        if (o.json) return printJson(rows);
        console.log(alertTable(rows, o.all === true));
      });
    });
  alerts
    .command('ack')
    .description('acknowledge an alert (people only; audited; resolution does not need it)')
    .argument('<id>', 'alert id (drover alerts)')
    .option('--note <text>', 'a word for the audit trail')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: { note?: string; json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const alert = await api.alertAck(id, { by: env.user, ...(o.note && { note: o.note }) });
        if (o.json) return printJson(alert);
        console.log(`${id}: acknowledged by ${env.user} (${alert.state})`);
      });
    });
}
