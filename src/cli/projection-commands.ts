import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import { findRejections } from '../api/index.js';
import {
  SchedulerError,
  createJetStreamEventLog,
  type Environment,
  type ErrorCode,
} from '../events/index.js';
import { asCliError, exitCodeOf } from './exit-codes.js';
import { connectNats, readerInbox } from './connection.js';
import { parseUntil } from './explain-at.js';
import { fairsharePolicyLine } from './policy-format.js';
import {
  allProjections,
  auditEntries,
  auditPlan,
  auditProjection,
  createEventFetcher,
  createProjectionRunner,
  openKvCheckpointReader,
  fairshare,
  fairshareProjection,
  usage,
  usageProjection,
  type AheadEntry,
  type AuditState,
  type FairshareState,
  type Projection,
  type ProjectionRunner,
  type Until,
  type UsageKeyKind,
  type UsageState,
} from '../projections/index.js';

/** What the commands need from their surroundings (tests pass their own). */
export interface ProjectionCommandDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
  /** Sets the exit code (default: `process.exitCode`). */
  readonly exit?: (code: number) => void;
}

/** A refusal of a projection command: its exit code is the code's (src/cli/exit-codes.ts). */
class CliError extends SchedulerError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'CliError';
  }
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  exit: (code: number) => void;
  now: () => number;
  url: string;
  env: Readonly<Record<string, string | undefined>>;
}

function ioOf(deps: ProjectionCommandDeps): Io {
  const env = deps.env ?? process.env;
  return {
    out: deps.stdout ?? ((s) => process.stdout.write(s + '\n')),
    err: deps.stderr ?? ((s) => process.stderr.write(s + '\n')),
    exit: deps.exit ?? ((c) => (process.exitCode = c)),
    now: deps.now ?? (() => Date.now()),
    url: env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222',
    env,
  };
}

/** `24h`, `7d`, `30m`, epoch ms or an ISO time → epoch ms; undefined when unreadable. */
export function parseTime(text: string, now: number): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d+$/.test(text)) return Number(text);
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Open the log, catch the projections up (from the service's checkpoints when there are any),
 * run `body`, close. Connects like every other command (DROVER_NATS_USER/PASS or
 * DROVER_NATS_CREDS) and only reads checkpoints: writing them is the checkpoint writer's job in
 * the long-running services (`startCheckpointWriter`), so the CLI holds no `ProjectionStore`.
 */
async function withRunner<T>(
  io: Io,
  projections: Projection<unknown>[],
  start: { until?: Until; fromZero?: boolean; skipHoles?: boolean | undefined },
  body: (r: ProjectionRunner, nc: NatsConnection) => Promise<T>,
): Promise<T> {
  let nc: NatsConnection;
  try {
    nc = await connectNats(io.url, readerInbox(io.env), io.env);
  } catch (err) {
    throw new CliError('UNAVAILABLE', `cannot reach NATS at ${io.url}: ${(err as Error).message}`);
  }
  try {
    const log = await createJetStreamEventLog(nc);
    const store = await openKvCheckpointReader(nc);
    const skipHoles = start.skipHoles === true;
    const runner = createProjectionRunner({ log, projections, store, skipHoles });
    await runner.start({
      ...(start.until && { until: start.until }),
      ...(start.fromZero && { fromZero: true }),
    });
    const result = await body(runner, nc);
    await runner.stop();
    return result;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = asCliError(err);
    throw new CliError(e.code, e.message);
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths?.[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

type Action<O> = (io: Io, opts: O, ...args: string[]) => Promise<void>;

/** `--until SEQ|ISO-TIME` as the runner's start: a replay from zero to then, or the present. */
function startOf(until: string | undefined): { until?: Until } {
  if (until === undefined) return {};
  const parsed = parseUntil(until);
  if (!parsed) throw new CliError('BAD_INPUT', `--until: not a sequence or an ISO time: ${until}`);
  return { until: parsed };
}

function run<O extends { json?: boolean }>(deps: ProjectionCommandDeps, action: Action<O>) {
  return async (...args: unknown[]) => {
    const io = ioOf(deps);
    const strings = args.filter((a): a is string => typeof a === 'string');
    const opts = (args.find((a) => typeof a === 'object' && a !== null && !('commands' in a)) ??
      {}) as O;
    try {
      await action(io, opts, ...strings);
      io.exit(0);
    } catch (err) {
      const e = err instanceof SchedulerError ? err : new CliError('INTERNAL', String(err));
      // As every command (CONTRACT): the JSON error document with --json, else the error line.
      if (opts.json) io.out(JSON.stringify({ error: { code: e.code, message: e.message } }));
      else io.err(`error: ${e.code}: ${e.message}`);
      io.exit(exitCodeOf(e.code));
    }
  };
}

type HoleOpts = { skipHoles?: boolean };

const usageCmd: Action<
  { json?: boolean; by?: string; since?: string; until?: string } & HoleOpts
> = async (io, o) => {
  const by = (o.by ?? 'name') as UsageKeyKind;
  if (!['user', 'name', 'pool'].includes(by)) {
    throw new CliError('BAD_INPUT', `--by must be user, name or pool (got ${o.by})`);
  }
  const since = o.since === undefined ? undefined : parseTime(o.since, io.now());
  if (o.since !== undefined && since === undefined) {
    throw new CliError('BAD_INPUT', `--since: not a time: ${o.since}`);
  }
  const rows = await withRunner(
    io,
    [usageProjection as Projection<unknown>],
    { ...startOf(o.until), skipHoles: o.skipHoles },
    async (r) => usage(r.state<UsageState>('usage'), since === undefined ? { by } : { by, since }),
  );
  if (o.json) return io.out(JSON.stringify(rows));
  const head = [by, 'runs', 'cpu-s', 'peak MB', 'MB-s', 'wall-s', 'outcomes', 'rec. MB'];
  const body = rows.map((x) => [
    x.key,
    x.runs,
    round(x.cpuSeconds),
    round(x.memPeakMb),
    round(x.memMbSeconds, 0),
    round(x.wallSeconds),
    Object.entries(x.outcomes)
      .map(([c, n]) => `${c}:${n}`)
      .join(' '),
    x.recommendedMemMb === null ? '-' : `${x.recommendedMemMb} (${x.recommendationRuns} runs)`,
  ]);
  io.out(rows.length ? table([head, ...body]) : 'no usage recorded');
};

const auditCmd: Action<{ json?: boolean; until?: string } & HoleOpts> = async (io, o, id) => {
  if (!id) throw new CliError('BAD_INPUT', 'audit needs an id (job, chunk, worker or node)');
  const proj = [auditProjection as Projection<unknown>];
  const start = { ...startOf(o.until), skipHoles: o.skipHoles };
  const query = (fromZero: boolean) =>
    withRunner(io, proj, { fromZero, ...start }, async (r, nc) => {
      const plan = auditPlan(r.state<AuditState>('audit'), id);
      // An index restored from a checkpoint is a cache: before saying "no events", ask the log.
      if (!plan.found && r.restored.length > 0) return undefined;
      if (!plan.found) {
        // A submission the intake rejected never became a job: its record is in DROVER_REJECTED.
        const rejected = await findRejections(nc, id);
        if (rejected.length > 0) return rejected;
        throw new CliError('NOT_FOUND', `no events for ${id}`);
      }
      const fetched = await (await createEventFetcher(nc)).fetch(plan.seqs, plan.subjects);
      return auditEntries(fetched.events);
    });
  const entries = (await query(false)) ?? (await query(true)) ?? [];
  if (o.json) return io.out(JSON.stringify(entries));
  const rows = entries.map((e) => [
    e.seq,
    new Date(e.at).toISOString(),
    `${e.by.kind}:${e.by.id}${e.by.epoch !== undefined ? `@${e.by.epoch}` : ''}`,
    e.type,
    e.subject.split('.').slice(3).join('.'),
    why(e.data),
  ]);
  io.out(table([['seq', 'time', 'by', 'type', 'entity', 'why'], ...rows]));
};

/** The human "why" of an event: its reasons, cause, code and message fields. */
function why(data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['cause', 'code', 'reason', 'message', 'command']) {
    if (typeof d[k] === 'string') parts.push(`${k}=${d[k] as string}`);
  }
  if (Array.isArray(d.reasons)) {
    parts.push(`reasons=${d.reasons.map((x) => (x as { code?: string }).code).join(',')}`);
  }
  if (d.environment && typeof d.environment === 'object') parts.push(environmentWhy(d.environment));
  return parts.join(' ');
}

/** A `worker.started` environment in one audit cell: the commit, dirty flag and lockfile hash. */
function environmentWhy(e: Partial<Environment>): string {
  const git = e.gitCommit === undefined ? 'git=none' : `git=${e.gitCommit.slice(0, 12)}`;
  const dirty = e.dirty ? ' dirty' : '';
  const locks = e.lockfileHash === undefined ? 'none' : e.lockfileHash.slice(0, 12);
  return `${git}${dirty} lockfiles=${locks}${e.image ? ` image=${e.image}` : ''}`;
}

/** The "now" of a view as of `--until`: that time, or the time of the event at that sequence. */
async function nowOf(io: Io, start: { until?: Until }, nc: NatsConnection): Promise<number> {
  const u = start.until;
  if (!u) return io.now();
  if ('time' in u) return u.time;
  const { events } = await (await createEventFetcher(nc)).fetch([u.seq]);
  return events[0]?.at ?? io.now();
}

const fairshareCmd: Action<{ json?: boolean; until?: string } & HoleOpts> = async (io, o) => {
  const start = { ...startOf(o.until), skipHoles: o.skipHoles };
  // As of a past point, decay is reckoned at that point's time (the last event's, or the ISO time).
  let policy = '';
  const rows = await withRunner(
    io,
    [fairshareProjection as Projection<unknown>],
    start,
    async (r, nc) => {
      policy = fairsharePolicyLine(r.state<FairshareState>('fairshare'));
      return fairshare(r.state<FairshareState>('fairshare'), { now: await nowOf(io, start, nc) });
    },
  );
  if (o.json) return io.out(JSON.stringify(rows));
  io.out(policy);
  const body = rows.map((x) => [
    x.rank,
    x.user,
    typeof x.weight === 'number' ? x.weight : JSON.stringify(x.weight),
    x.nextDru === null ? '-' : round(x.nextDru, 4),
    round(x.dru, 4),
    allocation(x.history),
    x.running,
    x.pending,
    x.nextDru === null ? 'nothing waiting' : x.ahead.map(aheadLabel).join(', '),
  ]);
  const head = [
    'rank',
    'user',
    'weight',
    'next dru',
    'share now',
    'decayed history',
    'running',
    'pending',
    'behind (why)',
  ];
  if (!rows.length) return io.out('no users');
  io.out(table([head, ...body]));
  io.out(FAIRSHARE_NOTE);
};

/** The legend under `drover fairshare`: what ranks, and what each column's unit is. */
export const FAIRSHARE_NOTE = [
  '',
  'rank: by "next dru", the dominant resource share of the user\'s next waiting task in the global',
  '  queue: (cpus/MB/GPUs of the tasks it runs + that task + decayed history / horizon) / (weight x',
  '  capacity), max over resources. Ties: global front, earlier submission, then id. Users with',
  '  nothing waiting come last, by "share now". "share now" is the same without the next task.',
  'decayed history: allocated resource-seconds (alloc cpu-s, alloc MB-s), halved every half-life;',
  '  `drover usage` cpu-s is CPU time used.',
  'behind (why): users ranked ahead and the term of your next dru that exceeds theirs most.',
].join('\n');

/** Decayed allocation in one unit per word: "alloc cpu-s" is not `usage`'s CPU time used. */
function allocation(h: { cpus: number; memMb: number; gpus: number }): string {
  const parts = [`${round(h.cpus, 0)} alloc cpu-s`, `${round(h.memMb, 0)} alloc MB-s`];
  if (h.gpus > 0) parts.push(`${round(h.gpus, 0)} alloc gpu-s`);
  return parts.join(', ');
}

function aheadLabel(a: AheadEntry): string {
  if (a.term === 'order') return `${a.user} (tie: earlier or moved to front)`;
  const what = a.term === 'history' ? 'decayed history' : 'running + next task';
  return `${a.user} (your ${what}, ${a.resource})`;
}

const replayCmd: Action<{ json?: boolean; until?: string; verify?: boolean } & HoleOpts> = async (
  io,
  o,
) => {
  const until = startOf(o.until).until;
  const start = {
    ...(o.verify ? {} : until ? { until } : { fromZero: true }),
    skipHoles: o.skipHoles,
  };
  const result = await withRunner(io, allProjections(), start, async (r) => {
    const verify = o.verify ? { verify: await r.verify() } : {};
    return {
      until: r.seq,
      events: r.events,
      corrupt: r.corrupt,
      restored: r.restored,
      ...(r.holes.length ? { holes: r.holes } : {}),
      ...verify,
    };
  });
  if (o.json) io.out(JSON.stringify(result));
  else {
    io.out(
      `replayed ${result.events} events up to seq ${result.until} (${result.corrupt} corrupt skipped)`,
    );
    for (const h of result.holes ?? [])
      io.out(`skipped a hole: seq ${h.fromSeq}..${h.toSeq} missing (see drover verify)`);
    if (result.verify) {
      io.out(
        result.verify.equal ? 'verify: equal' : `verify: ${result.verify.diffs.length} differences`,
      );
      for (const d of result.verify.diffs) {
        io.out(
          `  ${d.projection} ${d.path}: live ${JSON.stringify(d.live)} rebuilt ${JSON.stringify(d.rebuilt)}`,
        );
      }
    }
  }
  if (result.verify && !result.verify.equal) throw new VerifyFailed();
};

class VerifyFailed extends CliError {
  constructor() {
    super('NOT_EQUAL', 'live projections differ from a rebuild from the log');
  }
}

const SKIP_HOLES = 'fold across missing events of the log instead of refusing (exit 1, LOG_HOLE)';

/**
 * Register `usage`, `audit`, `fairshare` and `replay` on `program`. Each reads the log through
 * the projection runner (resuming from the checkpoints in KV, which it never writes), prints one JSON document with
 * `--json` (CONTRACT shapes) or a table, and reports errors as `error: <code>: <message>` on
 * stderr with exit codes 2 (bad input), 3 (not found), 5 (unavailable); `replay --verify`
 * exits 1 when the live projections differ from a rebuild.
 */
export function registerProjectionCommands(
  program: Command,
  deps: ProjectionCommandDeps = {},
): Command {
  program
    .command('usage')
    .description('cpu-s, memory peak and MB-s, wall, outcomes and memory recommendation')
    .option('--by <key>', 'user, name or pool', 'name')
    .option('--since <time>', 'ISO time, epoch ms, or 24h / 7d ago')
    .option('--until <seq|time>', 'as of a log sequence or an ISO time')
    .option('--json', 'print one JSON document')
    .option('--skip-holes', SKIP_HOLES)
    .action(run(deps, usageCmd));
  program
    .command('audit')
    .description('every event of a job (with its tree), chunk, worker or node, in log order')
    .argument('<id>', 'job, chunk (<job>:<i>), worker (<job>:<i>:<attempt>) or node id')
    .option('--until <seq|time>', 'only events up to a log sequence or an ISO time')
    .option('--json', 'print one JSON document')
    .option('--skip-holes', SKIP_HOLES)
    .action(run(deps, auditCmd));
  program
    .command('fairshare')
    .description(
      "per user: rank by the next waiting task's dominant share, weight, decayed allocation, running/pending",
    )
    .option('--until <seq|time>', 'as of a log sequence or an ISO time')
    .option('--json', 'print one JSON document')
    .option('--skip-holes', SKIP_HOLES)
    .action(run(deps, fairshareCmd));
  program
    .command('replay')
    .description('rebuild projections from the log as of a point; --verify compares with live')
    .option('--until <seq|time>', 'a stream sequence or an ISO time')
    .option('--verify', 'compare the live projections with a rebuild from zero')
    .option('--json', 'print one JSON document')
    .option('--skip-holes', SKIP_HOLES)
    .action(run(deps, replayCmd));
  return program;
}
