import type { Command } from 'commander';
import type { SessionRow } from '../api/index.js';
import { printJson, table, withApi } from './api-cli.js';

/** Register `drover sessions`: who runs what where, interactively, since when. */
export function registerSessionsCommand(program: Command): void {
  program
    .command('sessions')
    .description('interactive sessions (drover run) and allocations (drover alloc), newest first')
    .option('--all', 'also the ones that ended')
    .option('--json', 'print one JSON document')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      const json = o.json === true;
      await withApi(json, async (api) => {
        const { sessions } = await api.call<{ sessions: SessionRow[] }>('sessions.list', {
          ...(o.all && { all: true }),
        });
        if (json) return printJson(sessions);
        if (!sessions.length) return console.log('No live sessions');
        const rows = sessions.map((s) => [
          s.id,
          s.kind === 'alloc' ? 'alloc' : s.alloc !== undefined ? `run in ${s.alloc}` : 'run',
          s.user,
          (s.nodes.join(',') || '-') +
            (s.nodes.length < s.nodeCount ? ` (${s.nodeCount} asked)` : ''),
          s.placedAt ?? s.openedAt,
          s.state + (s.exitCode !== undefined ? ` (exit ${s.exitCode ?? s.signal})` : ''),
          s.kind === 'alloc' ? '-' : s.tty ? 'pty' : 'pipes',
          s.kind === 'alloc'
            ? `holds ${s.cpus} cpus ${s.memMb} MB a node until ${s.until ?? '-'}`
            : s.command.join(' '),
        ]);
        const head = ['SESSION', 'KIND', 'USER', 'NODE', 'SINCE', 'STATE', 'STDIO', 'COMMAND'];
        console.log(table([head, ...rows]));
      });
    });
}
