import type { Command } from 'commander';
import type { MemSizingRecord } from '../events/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JOB_STATES,
  type ApiClient,
  type Explanation,
  type JobState,
  type JobView,
} from '../api/index.js';
import { explainAt, parseUntil } from './explain-at.js';
import { printJson, table, time, withApi } from './api-cli.js';
import { fail } from './connection.js';
import { environmentLines } from './environment-commands.js';

interface JsonOpt {
  json?: boolean;
}

/** `7200` → `2h`, `90` → `90s`: the time limit as `--timeout` takes it. */
function duration(s: number | undefined): string {
  if (s === undefined) return 'none';
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (s % n === 0) return `${s / n}${unit}`;
  return `${s}s`;
}

const RUNS_SHOWN = 5;

/** How `--mem auto` decided the memory: the rule's words, then the runs it rests on. */
function memSizingLines(m: MemSizingRecord | undefined): string[] {
  if (!m) return [];
  const runs = m.runs
    .slice(-RUNS_SHOWN)
    .map((r) => `${r.worker} ${Math.round(r.peakMb)} MB ${r.cause} ${time(r.at)}`);
  const more = m.runs.length > RUNS_SHOWN ? [`    … and ${m.runs.length - RUNS_SHOWN} older`] : [];
  return [`  memory --mem auto: ${m.message}`, ...runs.map((r) => `    run ${r}`), ...more];
}

function showText(job: JobView): string {
  const lines = [
    `job ${job.id}  ${job.name}  (${job.state})`,
    `  user ${job.user}  pool ${job.pool}  priority ${job.priority}  retries ${job.retries}  time limit ${duration(job.timeoutS)}`,
    `  request ${job.request.cpus} cpus, ${job.request.memMb} MB, ${job.request.gpus} gpus`,
    ...memSizingLines(job.memSizing),
    `  command ${JSON.stringify(job.command)}${job.cwd ? `  in ${job.cwd}` : ''}`,
    `  created ${time(job.createdAt)}  started ${time(job.startedAt)}  ended ${time(job.endedAt)}`,
  ];
  if (job.parent) lines.push(`  parent ${job.parent}`);
  if (job.children.length) lines.push(`  children ${job.children.join(', ')}`);
  if (job.after.length) lines.push(`  after ${job.after.join(', ')}`);
  if (job.outcome) lines.push(`  outcome ${job.outcome.cause}: ${job.outcome.message}`);
  for (const r of job.pending ?? []) lines.push(`  pending ${r.code}: ${r.message}`);
  if (job.resultsCleared) lines.push('  results cleared');
  if (job.resubmitOf)
    lines.push(
      `  resubmit of ${job.resubmitOf}${job.pinnedEnvironment ? ' (same environment)' : ''}`,
    );
  lines.push(...environmentLines(job.environment));
  for (const c of job.chunks)
    if (c.result !== undefined)
      lines.push(`  result of chunk ${c.index}: ${JSON.stringify(c.result)}`);
  return [...lines, '', table(attemptRows(job)), ...attemptMessages(job)].join('\n');
}

const MESSAGES_SHOWN = 20;

/** What the agent said about attempts that did not succeed, below the table (the first few). */
function attemptMessages(job: JobView): string[] {
  const said = job.chunks.flatMap((c) =>
    c.attempts.flatMap((a) =>
      a.message === undefined ? [] : [`  chunk ${c.index} attempt ${a.attempt}: ${a.message}`],
    ),
  );
  const more = said.length - MESSAGES_SHOWN;
  return [
    ...(said.length ? [''] : []),
    ...said.slice(0, MESSAGES_SHOWN),
    ...(more > 0 ? [`  … and ${more} more (drover show --json)`] : []),
  ];
}

/**
 * One row per attempt, each with the attempt's own state and cause (an out-of-memory attempt
 * of a chunk that later succeeded reads `killed OutOfMemory`); the chunk's state is on its
 * first row only.
 */
function attemptRows(job: JobView): (string | number)[][] {
  const head = ['chunk', 'chunk state', 'attempt', 'state', 'node', 'worker', 'cause', 'exit'];
  const rows: (string | number)[][] = [[...head, 'peak MB', 'cpu-s', 'start', 'end']];
  for (const c of job.chunks) {
    if (c.attempts.length === 0)
      rows.push([c.index, c.state, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-']);
    c.attempts.forEach((a, i) =>
      rows.push([
        i === 0 ? c.index : '',
        i === 0 ? c.state : '',
        a.attempt,
        a.state,
        a.node,
        a.worker,
        a.cause ?? '-',
        a.exitCode ?? a.signal ?? '-',
        a.peakRssMb !== undefined ? Math.round(a.peakRssMb) : '-',
        a.cpuSeconds !== undefined ? Math.round(a.cpuSeconds * 10) / 10 : '-',
        time(a.startedAt),
        time(a.endedAt),
      ]),
    );
  }
  return rows;
}

/** The words of an empty `jobs`: say how many finished ones `--all` would show. */
async function noJobs(api: ApiClient, o: { user?: string; state?: string; all?: boolean }) {
  if (o.all || o.state !== undefined) return 'No jobs';
  const all = await api.jobs({ ...(o.user !== undefined && { user: o.user }), all: true });
  return all.length === 0
    ? 'No jobs'
    : `No unfinished jobs (${all.length} finished; --all shows them)`;
}

async function printLogs(api: ApiClient, id: string, chunk: number | undefined): Promise<void> {
  const entries = await api.logs({ id, ...(chunk !== undefined && { chunk }) });
  for (const e of entries) {
    const head = `==> chunk ${e.chunk} attempt ${e.attempt} on ${e.node}: ${e.stream} <==`;
    process.stdout.write(
      `${head}\n${e.unavailable ? `(unavailable: ${e.unavailable})\n` : e.text}`,
    );
  }
}

/** `-f`: follow the last attempt of one chunk until the job ends (new attempts are picked up). */
async function followLogs(api: ApiClient, id: string, chunk: number): Promise<void> {
  const at = new Map<string, { worker: string; offset: number }>();
  for (;;) {
    const job = await api.job(id, { chunks: false });
    for (const stream of ['stdout', 'stderr'] as const) {
      const known = at.get(stream);
      let [e] = await api.logs({ id, chunk, stream, fromByte: known?.offset ?? 0 });
      if (e && known && e.worker !== known.worker) {
        [e] = await api.logs({ id, chunk, stream, fromByte: 0 }); // a new attempt: its own file
      }
      if (!e) continue;
      if (e.text) (stream === 'stdout' ? process.stdout : process.stderr).write(e.text);
      at.set(stream, { worker: e.worker, offset: e.nextByte });
    }
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return;
    await sleep(500);
  }
}

function explainText(x: Explanation, at?: string): string {
  const lines = [`job ${x.id} ${at ? `was ${x.state} at ${at}` : `is ${x.state}`}`];
  for (const r of x.pending ?? [])
    lines.push(`  ${r.code}: ${r.message}\n    unblocks when: ${r.unblock}`);
  if (x.failure) {
    const f = x.failure;
    const where = f.node ? ` on ${f.node}, attempt ${f.attempt}` : ''; // none: never ran
    lines.push(`  failed: ${f.cause}${f.meaning ? ` (${f.meaning})` : ''}${where}`);
    if (f.attemptMessage) lines.push(`  the agent said: ${f.attemptMessage}`);
    if (f.logTail.length) lines.push('  last log lines:', ...f.logTail.map((l) => `    ${l}`));
  }
  lines.push(...memSizingLines(x.memSizing));
  for (const r of x.recommendations) lines.push(`  recommendation: ${r}`);
  return lines.join('\n');
}

/** `explain JOB --at TIME|SEQ`: from the log as of then (exit 2 unreadable, 3 not yet a job). */
async function explainThen(id: string, at: string, json: boolean): Promise<void> {
  const until = parseUntil(at);
  if (!until) fail('BAD_INPUT', `--at ${at}: expected a log sequence or an ISO time`, json);
  let x: Explanation | undefined;
  try {
    x = await explainAt(id, until);
  } catch (err) {
    fail('UNAVAILABLE', (err as Error).message, json);
  }
  if (!x) fail('NOT_FOUND', `no job ${id} at ${at}`, json);
  if (json) printJson(x);
  else console.log(explainText(x, at));
  process.exit(0);
}

/** Register `jobs`, `show`, `explain` and `logs` (read through the NATS API). */
export function registerJobCommands(program: Command): void {
  program
    .command('jobs')
    .description('list jobs (not finished ones unless --all or --state)')
    .option('--user <user>', 'only this user')
    .option('--state <state>', `only this state: ${JOB_STATES.join(', ')}`)
    .option('--all', 'also finished jobs')
    .option('--json', 'print one JSON document')
    .action(async (o: JsonOpt & { user?: string; state?: string; all?: boolean }) => {
      const json = o.json === true;
      if (o.state !== undefined && !JOB_STATES.includes(o.state as JobState)) {
        fail('BAD_INPUT', `--state ${o.state}: expected one of ${JOB_STATES.join(', ')}`, json);
      }
      await withApi(json, async (api) => {
        const rows = await api.jobs({
          ...(o.user !== undefined && { user: o.user }),
          ...(o.state !== undefined && { state: o.state as JobState }),
          ...(o.all && { all: true }),
        });
        if (json) return printJson(rows);
        const body = rows.map((r) => [
          r.id,
          r.name,
          r.user,
          r.pool,
          r.state,
          `${r.chunks.done}/${r.chunks.total}`,
          time(r.createdAt),
        ]);
        console.log(
          rows.length
            ? table([['id', 'name', 'user', 'pool', 'state', 'chunks', 'created'], ...body])
            : await noJobs(api, o),
        );
      });
    });
  program
    .command('show')
    .description('a job with its chunks, attempts and children')
    .argument('<job>', 'job id')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: JsonOpt) => {
      await withApi(o.json === true, async (api) => {
        const job = await api.job(id);
        if (o.json) printJson(job);
        else console.log(showText(job));
      });
    });
  program
    .command('explain')
    .description('why a job is pending, or why it failed (now, or as of --at)')
    .argument('<job>', 'job id')
    .option('--at <time|seq>', 'as the farm saw it at an ISO time or a log sequence')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: JsonOpt & { at?: string }) => {
      const json = o.json === true;
      if (o.at !== undefined) return explainThen(id, o.at, json);
      await withApi(json, async (api) => {
        const x = await api.explain(id);
        if (json) printJson(x);
        else console.log(explainText(x));
      });
    });
  program
    .command('logs')
    .description("stdout/stderr of a job's processes (the last attempt of each chunk)")
    .argument('<job>', 'job id')
    .option('--chunk <i>', 'only this chunk (0-based)')
    .option('-f, --follow', 'follow the chunk (default 0) until the job ends')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: JsonOpt & { chunk?: string; follow?: boolean }) => {
      const json = o.json === true;
      const chunk = o.chunk === undefined ? undefined : Number(o.chunk);
      if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 0)) {
        fail('BAD_INPUT', `--chunk ${o.chunk}: expected a chunk index (0, 1, ...)`, json);
      }
      await withApi(json, async (api) => {
        if (json) return printJson(await api.logs({ id, ...(chunk !== undefined && { chunk }) }));
        if (o.follow) return followLogs(api, id, chunk ?? 0);
        await printLogs(api, id, chunk);
      });
    });
}
