import type { Command } from 'commander';
import type { CancelPlan, ClearPlan } from '../api/index.js';
import { confirm, printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';

interface Opts {
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  timeout?: string;
}

/** What a cancel touches, in lines (also shown by runbooks before a dangerous cancel). */
export function cancelListing(p: CancelPlan): string {
  const lines = [`cancel ${p.id} (${p.state}) touches:`];
  lines.push(
    `  jobs (${p.jobs.length}): ${p.jobs.map((j) => `${j.id} ${j.state}`).join(', ') || '-'}`,
  );
  lines.push(`  chunks (${p.chunks.length}):`);
  for (const c of p.chunks) lines.push(`    ${c.id} ${c.state}${c.node ? ` on ${c.node}` : ''}`);
  lines.push(`  processes (${p.processes.length}):`);
  for (const w of p.processes) {
    lines.push(
      `    ${w.worker} on ${w.node} ${w.state}${w.pid !== undefined ? ` pid ${w.pid}` : ''}`,
    );
  }
  return lines.join('\n');
}

/** What a clear clears and what blocks it, in lines (also shown by runbooks). */
export function clearListing(p: ClearPlan): string {
  const lines = [`clear ${p.id} (${p.state}) clears the results of:`];
  lines.push(`  jobs (${p.jobs.length}): ${p.jobs.join(', ')}`);
  lines.push(
    `  chunks with results or checkpoints (${p.chunks.length}): ${p.chunks.join(', ') || '-'}`,
  );
  for (const b of p.blockers) lines.push(`  blocked: ${b.why}`);
  return lines.join('\n');
}

/** Ask unless `--yes`; without a terminal to ask on, refuse (exit 4) rather than act silently. */
async function confirmed(o: Opts, question: string): Promise<void> {
  if (o.yes) return;
  if (await confirm(question)) return;
  const why = process.stdin.isTTY ? 'not confirmed' : 'not confirmed (no terminal): pass --yes';
  fail('REFUSED', why, o.json === true);
}

/**
 * Register `cancel` and `clear`: both list exactly what they touch first (`--dry-run` stops
 * there), ask on a terminal unless `--yes`, then act through the API. `cancel` waits until the
 * job reads `cancelled` (every process confirmed stopped); `clear` is refused (exit 4) while any
 * descendant is not terminal or any of its processes is not confirmed stopped.
 */
export function registerCancelCommands(program: Command): void {
  program
    .command('cancel')
    .description('cancel a job, its children, chunks and processes; waits until all stopped')
    .argument('<job>', 'job id')
    .option('--dry-run', 'only list what it would touch')
    .option('--yes', 'do not ask')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--timeout <seconds>', 'how long to wait for every process to stop', '120')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: Opts) => {
      const json = o.json === true;
      const waitMs = Number(o.timeout) * 1000;
      if (!(waitMs > 0)) fail('BAD_INPUT', `--timeout ${o.timeout}: expected seconds`, json);
      await withApi(json, async (api) => {
        const plan = await api.cancelPlan(id);
        if (o.dryRun)
          return json ? printJson({ dryRun: true, plan }) : console.log(cancelListing(plan));
        if (!json) console.error(cancelListing(plan));
        await confirmed(o, `cancel ${id} and everything listed?`);
        const out = await api.cancel(id, {
          wait: true,
          waitMs,
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (json) return printJson({ id, state: out.state, plan });
        console.log(
          `${id} ${out.state}: ${plan.jobs.length} jobs, ${plan.chunks.length} chunks, ${plan.processes.length} processes confirmed stopped`,
        );
      });
    });
  program
    .command('clear')
    .description('clear the results of a finished job and its descendants')
    .argument('<job>', 'job id')
    .option('--dry-run', 'only list what it would clear (and what blocks it)')
    .option('--yes', 'do not ask')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: Opts) => {
      const json = o.json === true;
      await withApi(json, async (api) => {
        const plan = await api.clearPlan(id);
        if (o.dryRun)
          return json ? printJson({ dryRun: true, plan }) : console.log(clearListing(plan));
        if (plan.blockers.length > 0) {
          const words = plan.blockers.map((b) => b.why).join('; ');
          fail('REFUSED', `clear ${id} refused: ${words}`, json, { plan });
        }
        if (!json) console.error(clearListing(plan));
        await confirmed(o, `clear the results of ${id} and everything listed?`);
        const out = await api.clear(id, { by: env.user });
        if (json) return printJson({ id, cleared: true, plan: out.plan });
        console.log(
          `${id}: results cleared (${out.plan.jobs.length} jobs, ${out.plan.chunks.length} chunks)`,
        );
      });
    });
}
