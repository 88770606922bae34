import type { Command } from 'commander';
import { policyClient, type QuotaRow } from '../api/index.js';
import { parseMemoryMb, type QuotaLimits } from '../events/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { env, fail } from './connection.js';
import { formatDuration } from './policy-format.js';

type Json = { json?: boolean };

/** `24h`, `30m`, `7d`, `90s` or plain seconds → seconds; BAD_INPUT naming the flag otherwise. */
export function parseHalfLife(text: string, json: boolean): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const s = m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as ''] : NaN;
  if (!(s > 0))
    fail('BAD_INPUT', `--half-life ${text}: expected a duration like 24h, 90m or 7d`, json);
  return s;
}

/** A non-negative number for `flag`, or BAD_INPUT naming it. */
function number(flag: string, text: string, json: boolean, integer = false): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    fail(
      'BAD_INPUT',
      `${flag} ${text}: expected a non-negative ${integer ? 'integer' : 'number'}`,
      json,
    );
  return n;
}

type QuotaFlags = Json & {
  cpus?: string;
  mem?: string;
  gpus?: string;
  launchesPerMin?: string;
  reason?: string;
};

/** The limits `quota set` was given (at least one), each checked and named when wrong. */
export function parseQuotaFlags(o: QuotaFlags): QuotaLimits {
  const json = o.json === true;
  const limits: QuotaLimits = {};
  if (o.cpus !== undefined) limits.cpus = number('--cpus', o.cpus, json);
  if (o.mem !== undefined) {
    const mb = o.mem.trim() === '0' ? 0 : parseMemoryMb(o.mem);
    if (mb === undefined)
      fail('BAD_INPUT', `--mem ${o.mem}: expected a size like 512M or 8G`, json);
    limits.memMb = mb;
  }
  if (o.gpus !== undefined) limits.gpus = number('--gpus', o.gpus, json, true);
  if (o.launchesPerMin !== undefined)
    limits.launchesPerMin = number('--launches-per-min', o.launchesPerMin, json, true);
  if (Object.keys(limits).length === 0)
    fail(
      'BAD_INPUT',
      'quota set: give at least one of --cpus, --mem, --gpus, --launches-per-min',
      json,
    );
  return limits;
}

const dash = (v: number | undefined, unit = '') => (v === undefined ? '-' : `${v}${unit}`);

function quotaTable(rows: QuotaRow[]): string {
  const head = ['user', 'cpus', 'mem MB', 'gpus', 'launches/min'];
  const body = rows.map((r) => [
    r.user,
    `${r.used.cpus}/${dash(r.cpus)}`,
    `${r.used.memMb}/${dash(r.memMb)}`,
    `${r.used.gpus}/${dash(r.gpus)}`,
    dash(r.launchesPerMin),
  ]);
  return rows.length ? table([head, ...body]) + '\n(running / limit)' : 'no quotas';
}

function registerFairshareParams(program: Command): void {
  // `fairshare` itself (the table) is registered by the projection commands; its parameters
  // join it as subcommands, so `drover fairshare weight ...` reads as the contract says.
  const fairshare =
    program.commands.find((c) => c.name() === 'fairshare') ??
    program.command('fairshare').description('fair share');
  fairshare
    .command('weight')
    .description("set a user's fair-share weight (admins; the next policy version)")
    .argument('<user>', 'user')
    .argument('<weight>', 'weight, > 0 (default of every user: 1)')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (user: string, w: string, o: Json & { reason?: string }) => {
      const json = o.json === true;
      const weight = number('weight', w, json);
      if (!(weight > 0)) fail('BAD_INPUT', `weight ${w}: expected a number > 0`, json);
      await withApi(json, async (api) => {
        const r = await policyClient(api).weight(user, weight, {
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        const out = { user: r.user, weight: r.weight, version: r.version, changed: r.changed };
        if (json) return printJson(out);
        console.log(
          `${user}: weight ${weight} (policy v${r.version}${r.changed ? '' : ', unchanged'})`,
        );
      });
    });
  fairshare
    .command('config')
    .description('show or set the half-life and lambda of fair share (setting: admins)')
    .option('--half-life <duration>', 'how long until usage counts half, e.g. 24h')
    .option('--lambda <n>', 'how much decayed history counts (0: none)')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (o: Json & { halfLife?: string; lambda?: string; reason?: string }) => {
      const json = o.json === true;
      const halfLifeS = o.halfLife === undefined ? undefined : parseHalfLife(o.halfLife, json);
      const lambda = o.lambda === undefined ? undefined : number('--lambda', o.lambda, json);
      await withApi(json, async (api) => {
        const r = await policyClient(api).config({
          ...(halfLifeS !== undefined && { halfLifeS }),
          ...(lambda !== undefined && { lambda }),
          ...(o.reason !== undefined && { reason: o.reason }),
          by: env.user,
        });
        const { version, halfLifeS: h, lambda: l, weights, changed } = r;
        if (json) return printJson({ version, halfLifeS: h, lambda: l, weights, changed });
        const ws =
          Object.entries(weights)
            .map(([u, w]) => `${u}=${w}`)
            .join(' ') || 'all 1';
        console.log(
          `fair-share policy v${version}: half-life ${formatDuration(h)}, lambda ${l}, weights ${ws}`,
        );
      });
    });
}

function registerQuota(program: Command): void {
  const quota = program
    .command('quota')
    .description('per-user limits on running resources and launches');
  quota
    .command('set')
    .description("set a user's quota (admins; replaces the user's previous limits)")
    .argument('<user>', 'user')
    .option('--cpus <n>', 'running cpus at most')
    .option('--mem <size>', 'running memory at most, e.g. 64G')
    .option('--gpus <n>', 'running gpus at most')
    .option('--launches-per-min <n>', 'launches in any minute at most')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (user: string, o: QuotaFlags) => {
      const json = o.json === true;
      const limits = parseQuotaFlags(o);
      await withApi(json, async (api) => {
        const r = await policyClient(api).quotaSet(user, limits, {
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (json) return printJson({ user, ...limits, version: r.version, changed: r.changed });
        console.log(`${user}: quota set (quotas v${r.version}${r.changed ? '' : ', unchanged'})`);
      });
    });
  quota
    .command('clear')
    .description("remove a user's quota (admins)")
    .argument('<user>', 'user')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (user: string, o: Json & { reason?: string }) => {
      await withApi(o.json === true, async (api) => {
        const r = await policyClient(api).quotaClear(user, {
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (o.json) return printJson({ user, version: r.version, changed: r.changed });
        console.log(`${user}: quota cleared (quotas v${r.version})`);
      });
    });
  quota
    .command('list')
    .description('quotas with what each user runs now')
    .option('--json', 'print one JSON document')
    .action(async (o: Json) => {
      await withApi(o.json === true, async (api) => {
        const rows = await policyClient(api).quotas();
        if (o.json) return printJson(rows);
        console.log(quotaTable(rows));
      });
    });
}

function registerPriority(program: Command): void {
  program
    .command('priority')
    .description("override a job's priority (admins): lists the waiting jobs it delays")
    .argument('<job>', 'job id')
    .argument('<priority>', "new priority (higher runs first among the user's jobs)")
    .option('--reason <text>', 'why (required; recorded in the log with the delayed jobs)')
    .option('--global', 'move it to the global front, not only the front of its user')
    .option('--json', 'print one JSON document')
    .action(async (job: string, n: string, o: Json & { reason?: string; global?: boolean }) => {
      const json = o.json === true;
      const priority = Number(n);
      if (!/^-?\d+$/.test(n.trim()) || Math.abs(priority) > 1_000_000)
        fail('BAD_INPUT', `priority ${n}: expected an integer from -1000000 to 1000000`, json);
      if (o.reason === undefined || o.reason.trim() === '')
        fail('BAD_INPUT', '--reason is required: say why the priority changes', json);
      await withApi(json, async (api) => {
        const r = await api.priority(job, priority, o.reason!, {
          by: env.user,
          ...(o.global && { global: true }),
        });
        const out = { jobId: r.jobId, priority: r.priority, delayed: r.delayed };
        if (json) return printJson(out);
        const delayed = out.delayed.length ? `delays ${out.delayed.join(', ')}` : 'delays no job';
        console.log(`${job}: priority ${priority}; ${delayed}`);
      });
    });
}

function registerExclusions(program: Command): void {
  const ex = program
    .command('exclusions')
    .description("standing exclusions: nodes that never get a user's jobs");
  for (const op of ['add', 'remove'] as const) {
    ex.command(op)
      .description(`${op} a standing exclusion (admins)`)
      .option('--user <user>', 'whose jobs')
      .option('--node <node>', 'which node')
      .option('--reason <text>', 'why (recorded in the log)')
      .option('--json', 'print one JSON document')
      .action(async (o: Json & { user?: string; node?: string; reason?: string }) => {
        const json = o.json === true;
        if (!o.user) fail('BAD_INPUT', `exclusions ${op}: --user is required`, json);
        if (!o.node) fail('BAD_INPUT', `exclusions ${op}: --node is required`, json);
        await withApi(json, async (api) => {
          const r = await policyClient(api).exclusion(op, o.user!, o.node!, {
            by: env.user,
            ...(o.reason !== undefined && { reason: o.reason }),
          });
          const out = { user: r.user, node: r.node, version: r.version, changed: r.changed };
          if (json) return printJson(out);
          const what = op === 'add' ? 'never gets' : 'may get again';
          console.log(`${r.node} ${what} ${r.user}'s jobs (exclusions v${r.version})`);
        });
      });
  }
  ex.command('list')
    .description('standing exclusions by user')
    .option('--json', 'print one JSON document')
    .action(async (o: Json) => {
      await withApi(o.json === true, async (api) => {
        const rows = await policyClient(api).exclusions();
        if (o.json) return printJson(rows);
        const body = rows.map((r) => [r.user, r.node]);
        console.log(rows.length ? table([['user', 'node'], ...body]) : 'no exclusions');
      });
    });
}

/**
 * Register `fairshare weight|config`, `quota set|clear|list` and `priority` (CONTRACT "Capacity"): the
 * scheduling policy as data in the log, changed by admins (the API refuses users), each change
 * an event with who and why (`drover audit fairshare`, `drover audit quotas`).
 */
export function registerPolicyCommands(program: Command): void {
  registerFairshareParams(program);
  registerQuota(program);
  registerPriority(program);
  registerExclusions(program);
}
