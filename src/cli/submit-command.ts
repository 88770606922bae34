import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { constants } from 'node:os';
import { findRejections, type ApiClient, type JobView } from '../api/index.js';
import { SchedulerError, toJobSpec, type SubmitBody, type ValidJobSpec } from '../events/index.js';
import { printJson, withApi } from './api-cli.js';
import { env, fail } from './connection.js';
import { publishSubmission } from './demo.js';
import { parseSubmitFlags, submitOptions } from './submit-flags.js';

/**
 * Exit codes of `submit --wait` by the job's outcome: 0 succeeded, 4 cancelled (refused by
 * state, as CONTRACT.md's 4), 5 when the farm became unreachable; a failed job exits with its
 * own code ({@link failedExitCode}). The README documents them.
 */
export const WAIT_EXIT = { succeeded: 0, failed: 1, cancelled: 4 } as const;

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/**
 * Poll the job until it ends, drawing chunks done/total on stderr; resolves with its state.
 * While the job does not exist yet, the intake may have refused it: that refusal ends the wait
 * as an error (exit 2, its message), never a silent wait forever.
 */
async function waitForJob(
  api: ApiClient,
  nc: NatsConnection,
  id: string,
  json: boolean,
): Promise<string> {
  const tty = process.stderr.isTTY && !json;
  let last = '';
  for (let poll = 0; ; poll++) {
    const status = await api.status(id).catch((err: unknown) => {
      if (err instanceof SchedulerError && err.code === 'NOT_FOUND') return undefined; // not taken in yet
      throw err;
    });
    if (!status && poll % 4 === 3) await failIfRejected(nc, id, json);
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
 * The exit code of a failed job, as a shell would give it: with one chunk, its last attempt's
 * own exit code (128+n when a signal n ended it); 1 otherwise (several chunks, or an attempt that
 * never produced a code, e.g. a launch failure).
 */
export function failedExitCode(job: JobView): number {
  const attempt = job.chunks.length === 1 ? job.chunks[0]?.attempts.at(-1) : undefined;
  if (attempt?.exitCode !== undefined && attempt.exitCode > 0) return attempt.exitCode;
  const signo =
    attempt?.signal !== undefined ? constants.signals[attempt.signal as NodeJS.Signals] : undefined;
  return signo !== undefined ? 128 + signo : 1;
}

/** End the wait when the intake refused this submission (its record is in DROVER_REJECTED). */
async function failIfRejected(nc: NatsConnection, id: string, json: boolean): Promise<void> {
  const [rejected] = await findRejections(nc, id);
  if (!rejected) return;
  const error = (rejected.data as { error?: { code?: string; message?: string } }).error ?? {};
  fail('INVALID_SUBMISSION', `${id} refused by the intake: ${error.message ?? ''}`, json);
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
        let promise: { startBy: string; accepted: boolean } | undefined;
        let memSizing: { message: string } | undefined;
        try {
          ({ jobId, promise, memSizing } = await api.submit(body, { msgId }));
        } catch (err) {
          if (!(err instanceof SchedulerError) || err.code !== 'UNAVAILABLE') throw err;
          // A start-by needs the API's admission: the intake alone cannot promise anything.
          if ('startBy' in body) throw err;
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
        // The decided memory goes to stderr: stdout stays the job id alone, for scripts.
        if (memSizing && !json) console.error(`memory: ${memSizing.message}`);
        if (!opts.wait)
          return json
            ? printJson({ jobId, ...(promise && { promise }), ...(memSizing && { memSizing }) })
            : console.log(jobId);
        if (!json) console.log(jobId);
        const state = await waitForJob(api, nc, jobId, json);
        const code = state === 'failed' ? failedExitCode(await api.job(jobId)) : undefined;
        if (json) printJson({ jobId, state, ...(code !== undefined && { exitCode: code }) });
        else if (state !== 'succeeded')
          console.error(`${jobId} ${state}: see \`drover explain ${jobId}\``);
        process.exitCode = code ?? WAIT_EXIT[state as keyof typeof WAIT_EXIT];
      });
    });
}
