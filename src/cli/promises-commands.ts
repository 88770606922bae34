import type { Command } from 'commander';
import { printJson, table, withApi } from './api-cli.js';

/** A row of `drover promises` (CONTRACT "Capacity"). */
interface PromiseRow {
  jobId: string;
  startBy: string;
  startedAt?: string;
  state: 'pending' | 'kept' | 'broken';
  proof: { acceptedSeq: number; startedSeq?: number; preempted: string[] };
}

/**
 * `drover promises [--user U]`: each start-by promise, pending, kept or broken, with the log
 * sequences that prove it (its acceptance, and the start that kept it).
 */
export function registerPromisesCommand(program: Command): void {
  program
    .command('promises')
    .description('start-by promises: pending, kept or broken, with the sequences that prove it')
    .option('--user <user>', 'only this user’s promises')
    .option('--json', 'print one JSON document')
    .action(async (o: { user?: string; json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const { promises: rows } = await api.call<{ promises: PromiseRow[] }>('promises', {
          ...(o.user !== undefined && { user: o.user }),
        });
        if (o.json) return printJson(rows);
        const head = ['job', 'state', 'start-by', 'started', 'accepted-seq', 'started-seq'];
        const body = rows.map((r) => [
          r.jobId,
          r.state,
          r.startBy,
          r.startedAt ?? '-',
          String(r.proof.acceptedSeq),
          r.proof.startedSeq !== undefined ? String(r.proof.startedSeq) : '-',
        ]);
        console.log(rows.length ? table([head, ...body]) : 'no promises');
      });
    });
}
