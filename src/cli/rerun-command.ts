import type { Command } from 'commander';
import type { ApiClient, RerunTaskView } from '../api/index.js';
import { confirm, printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';

interface Opts {
  task?: string;
  downstream?: boolean;
  failed?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  json?: boolean;
}

interface Listing {
  run: string;
  tasks: RerunTaskView[];
  blockers: string[];
  /** Old jobs of listed tasks compacted to the archive: run again, not cleared (closed). */
  archived?: string[];
}

/** What a rerun clears and runs again, and what blocks it, in lines. */
export function rerunListing(l: Listing): string {
  const lines = [`rerun ${l.run} clears and runs again (${l.tasks.length}):`];
  for (const t of l.tasks) {
    const closed = t.jobId !== null && l.archived?.includes(t.jobId);
    lines.push(
      `  ${t.task}  ${t.jobId ?? '-'}  ${t.state}${closed ? '  (compacted: not cleared)' : ''}`,
    );
  }
  for (const b of l.blockers) lines.push(`  blocked: ${b}`);
  return lines.join('\n');
}

const call = <T>(api: ApiClient, body: unknown) =>
  api.call<T>('run.rerun' as Parameters<ApiClient['call']>[0], body, 30_000);

/**
 * Register `drover rerun RUN [--task T] [--downstream] [--failed] [--dry-run] [--yes]` (CONTRACT
 * "Workflows and schedules"): lists exactly the task instances it will clear and run again
 * (`--dry-run` stops there), is refused (exit 4) while any process of them is alive, asks on a
 * terminal unless `--yes` (no terminal and no `--yes`: refused), then reruns exactly the listing
 * it showed (the API refuses if the run changed in between). Who reran what is in the run's log.
 */
export function registerRerunCommand(program: Command): void {
  program
    .command('rerun')
    .description("clear an ended run's task instances and run them again")
    .argument('<run>', 'run id, NAME@DATE')
    .option('--task <task>', 'only this task')
    .option('--downstream', 'and every task downstream of it')
    .option('--failed', 'only the failed and upstream_failed tasks')
    .option('--dry-run', 'only list what it would clear and run again')
    .option('--yes', 'do not ask')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (run: string, o: Opts) => {
      const json = o.json === true;
      const ask = {
        run,
        ...(o.task !== undefined && { task: o.task }),
        downstream: o.downstream === true,
        failed: o.failed === true,
      };
      await withApi(json, async (api) => {
        const listing = await call<Listing>(api, { ...ask, dryRun: true });
        const shown = { run: listing.run, tasks: listing.tasks };
        if (o.dryRun)
          return json
            ? printJson({ ...shown, blockers: listing.blockers, dryRun: true })
            : console.log(rerunListing(listing));
        if (!json) console.error(rerunListing(listing));
        if (listing.blockers.length)
          fail('REFUSED', `rerun ${run} refused: ${listing.blockers.join('; ')}`, json, shown);
        if (!o.yes && !(await confirm(`clear and run again the ${listing.tasks.length} listed?`))) {
          const why = process.stdin.isTTY
            ? 'not confirmed'
            : 'not confirmed (no terminal): pass --yes';
          fail('REFUSED', why, json);
        }
        await call(api, {
          ...ask,
          expect: listing.tasks.map((t) => t.task),
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (json) return printJson(shown);
        console.log(`${run}: ${listing.tasks.map((t) => t.task).join(', ')} will run again`);
      });
    });
}
