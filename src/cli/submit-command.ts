import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../api/index.js';
import { SchedulerError, toJobSpec, type SubmitBody, type ValidJobSpec } from '../events/index.js';
import { printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';
import { publishSubmission } from './demo.js';
import { parseSubmitFlags, submitOptions } from './submit-flags.js';

/**
 * Exit codes of `submit --wait`: the job's outcome. 0 succeeded, 1 failed, 4 cancelled (refused
 * by state, as CONTRACT.md's 4), 5 when the wait timed out or the farm became unreachable.
 */
export const WAIT_EXIT = { succeeded: 0, failed: 1, cancelled: 4 } as const;

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** Poll the job until it ends, drawing chunks done/total on stderr; resolves with its state. */
async function waitForJob(api: ApiClient, id: string, json: boolean): Promise<string> {
  const tty = process.stderr.isTTY && !json;
  let last = '';
  for (;;) {
    const status = await api.status(id).catch((err: unknown) => {
      if (err instanceof SchedulerError && err.code === 'NOT_FOUND') return undefined; // not taken in yet
      throw err;
    });
    if (status) {
      const { job, progress } = status;
      const line = `${id} ${job.state} ${bar(progress.done, progress.total)}`;
      if (line !== last && !json) process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      last = line;
      if (job.state in WAIT_EXIT) {
        if (tty) process.stderr.write('\n');
        return job.state;
      }
    }
    await sleep(250);
  }
}

/**
 * Register `submit`: through the API, which validates the body and names a mistake (exit 2);
 * straight to the durable intake when no API answers; `--wait` follows it.
 */
export function registerSubmitCommand(program: Command): void {
  submitOptions(program.command('submit').description('submit a job; prints its id'))
    .option('--wait', 'show progress until the job ends; exit code of the job')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (command: string[], opts: Record<string, unknown>) => {
      const json = opts.json === true;
      let body: SubmitBody;
      try {
        body = parseSubmitFlags(command, opts, env.user) as SubmitBody;
      } catch (err) {
        fail('BAD_INPUT', (err as Error).message, json);
      }
      await withApi(json, async (api, nc) => {
        const msgId = `cli-${randomUUID()}`;
        let jobId: string;
        try {
          jobId = (await api.submit(body, { msgId })).jobId;
        } catch (err) {
          if (!(err instanceof SchedulerError) || err.code !== 'UNAVAILABLE') throw err;
          // No API service: the durable intake still takes it (same msg id). Nobody would answer
          // a mistake now, so it is checked here, where it leaves the CLI (exit 2, field named).
          let spec: ValidJobSpec;
          try {
            spec = toJobSpec(body, 'submit');
          } catch (invalid) {
            fail('BAD_INPUT', (invalid as Error).message, json);
          }
          jobId = await publishSubmission(nc, spec, msgId);
        }
        if (!opts.wait) return json ? printJson({ jobId }) : console.log(jobId);
        if (!json) console.log(jobId);
        const state = await waitForJob(api, jobId, json);
        if (json) printJson({ jobId, state });
        process.exitCode = WAIT_EXIT[state as keyof typeof WAIT_EXIT];
      });
    });
}
