import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseMemoryMb } from '../events/index.js';
import { parseLabels } from './services.js';

const repeat = (v: string, all: string[]) => [...all, v];

/** The options of `drover submit` (CONTRACT.md). */
export function submitOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'job name (default: the command)')
    .option('--user <user>', 'submitting user (default: DROVER_USER or the OS user)')
    .option('--pool <pool>', 'pool')
    .option('--cpus <n>', 'CPUs per chunk')
    .option(
      '--mem <size>',
      'memory per chunk, e.g. 512M; auto: from the peaks of earlier runs of this --name',
    )
    .option('--gpus <n>', 'GPUs per chunk')
    .option('--chunks <n>', 'number of chunks')
    .option('--retries <n>', 'retries of failures that count against the job')
    .option('--timeout <duration>', 'time limit per attempt, e.g. 90s, 30m, 2h')
    .option('--after <job>', 'run after this job succeeded (repeatable)', repeat, [] as string[])
    .option('--parent <job>', 'parent job')
    .option(
      '--label-constraint <k=v>',
      'run only on nodes with this label (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--exclude-node <node>', 'never run on this node (repeatable)', repeat, [] as string[])
    .option('--priority <n>', 'priority within your own jobs')
    .option(
      '--env <k=v>',
      'environment variable for the process (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--cwd <dir>', 'working directory of the process (default: where submit runs)')
    .option('--reservation <name>', "run inside this reservation's window, on its resources")
    .option('--start-by <time>', 'promise a start by ISO time or +DURATION (needs --timeout)')
    .option('--json', 'print one JSON document');
}

/** `30m`, `90s`, `2h`, `1d` or plain seconds, as whole seconds. */
export function parseDurationS(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`--timeout ${text}: expected a duration like 90s, 30m or 2h`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
  return Number(m[1]) * unit;
}

const num = (flag: string, v: unknown) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${flag} ${String(v)}: expected a number`);
  return n;
};

/**
 * Flags to a submit body. Only the flags' own syntax is checked here (`--cpus many`, `--mem 12X`);
 * the body is validated once, by whoever takes it in: the API answers a mistake with the field
 * named (exit 2), and when the CLI publishes to the intake itself it validates first. The cwd is
 * always recorded, absolute: `--cwd` resolved against `here`, else `here` itself (as `sbatch`
 * does), so `-- ./simulate.sh` finds the script it was typed next to.
 */
export function parseSubmitFlags(
  command: string[],
  o: Record<string, unknown>,
  defaultUser: string,
  here: string = process.cwd(),
): object {
  const body: Record<string, unknown> = {
    name: (o.name as string | undefined) ?? command.join(' ').slice(0, 200),
    user: (o.user as string | undefined) ?? defaultUser,
    command,
  };
  if (o.pool !== undefined) body.pool = o.pool;
  if (o.cpus !== undefined) body.cpus = num('--cpus', o.cpus);
  if (o.mem === 'auto') body.memMb = 'auto';
  else if (o.mem !== undefined) {
    const memMb = parseMemoryMb(String(o.mem));
    if (memMb === undefined)
      throw new Error(`--mem ${String(o.mem)}: expected a size like 512M or 8G, or auto`);
    body.memMb = memMb;
  }
  if (o.gpus !== undefined) body.gpus = num('--gpus', o.gpus);
  if (o.chunks !== undefined) body.chunks = num('--chunks', o.chunks);
  if (o.retries !== undefined) body.retries = num('--retries', o.retries);
  if (o.timeout !== undefined) body.timeoutS = parseDurationS(String(o.timeout));
  if ((o.after as string[]).length) body.after = o.after;
  if (o.parent !== undefined) body.parent = o.parent;
  if ((o.labelConstraint as string[]).length)
    body.labels = parseLabels(o.labelConstraint as string[], '--label-constraint');
  if ((o.excludeNode as string[]).length) body.excludeNodes = o.excludeNode;
  if (o.priority !== undefined) body.priority = num('--priority', o.priority);
  if ((o.env as string[]).length) body.env = parseLabels(o.env as string[], '--env');
  if (o.reservation !== undefined) body.reservation = o.reservation;
  if (o.startBy !== undefined) body.startBy = String(o.startBy);
  body.cwd = o.cwd === undefined ? here : resolve(here, String(o.cwd));
  return body;
}
