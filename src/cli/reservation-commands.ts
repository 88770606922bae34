import type { Command } from 'commander';
import { parseMemoryMb } from '../events/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { env, fail } from './connection.js';

/** A row of `reservation list` (CONTRACT "Capacity"). */
interface ReservationRow {
  name: string;
  start: string;
  end: string;
  next?: { start: string; end: string };
  nodes: string[];
  users: string[];
  flags: string[];
  state: string;
}

interface CreateFlags {
  start?: string;
  end?: string;
  nodes?: string;
  cpus?: string;
  mem?: string;
  gpus?: string;
  users?: string;
  flags?: string;
  json?: boolean;
}

const csv = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

function count(flag: string, v: string | undefined, json: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail('BAD_INPUT', `${flag} ${v}: expected a number ≥ 0`, json);
  return n;
}

/** The create request from the flags; the flags' own syntax checked here, the rest by the API. */
function createBody(name: string, o: CreateFlags, json: boolean): Record<string, unknown> {
  if (o.start === undefined) fail('BAD_INPUT', '--start is required (ISO 8601 time)', json);
  if (o.end === undefined) fail('BAD_INPUT', '--end is required (ISO 8601 time)', json);
  if (o.users === undefined) fail('BAD_INPUT', '--users is required (U1,U2)', json);
  const memMb = o.mem === undefined ? undefined : parseMemoryMb(o.mem);
  if (o.mem !== undefined && memMb === undefined)
    fail('BAD_INPUT', `--mem ${o.mem}: expected a size like 512M or 8G`, json);
  const cpus = count('--cpus', o.cpus, json);
  const gpus = count('--gpus', o.gpus, json);
  return {
    name,
    start: o.start,
    end: o.end,
    ...(o.nodes !== undefined && { nodes: csv(o.nodes) }),
    ...(cpus !== undefined && { cpus }),
    ...(memMb !== undefined && { memMb }),
    ...(gpus !== undefined && { gpus }),
    users: csv(o.users),
    flags: csv(o.flags),
    by: env.user,
  };
}

/**
 * Register `reservation create|list|delete` (CONTRACT "Capacity"). Create and delete are an
 * admin's acts, recorded with who did them; list is open to everyone.
 */
export function registerReservationCommands(program: Command): void {
  const reservation = program
    .command('reservation')
    .description('reserve nodes or an amount of resources for users in a time window');
  reservation
    .command('create')
    .description(
      'reserve capacity: --start ISO --end ISO (--nodes N1,N2 | --cpus N ...) --users U1,U2',
    )
    .argument('<name>', 'reservation name')
    .option('--start <iso>', 'window start, e.g. 2026-12-05T08:00:00Z')
    .option('--end <iso>', 'window end')
    .option('--nodes <list>', 'named nodes, comma separated')
    .option('--cpus <n>', 'an amount of cpus (held as whole nodes)')
    .option('--mem <size>', 'an amount of memory, e.g. 64G')
    .option('--gpus <n>', 'an amount of gpus')
    .option('--users <list>', 'users the window is for, comma separated')
    .option('--flags <list>', 'maint, ignore-jobs, daily, weekly (comma separated)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: CreateFlags) => {
      const json = o.json === true;
      const body = createBody(name, o, json);
      await withApi(json, async (api) => {
        const out = await api.call<{ name: string }>('reservation.create', body);
        if (json) return printJson({ name: out.name });
        console.log(`reservation ${out.name} created`);
      });
    });
  reservation
    .command('list')
    .description('reservations with their window, nodes, users, flags and state')
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const { reservations: rows } = await api.call<{ reservations: ReservationRow[] }>(
          'reservation.list',
          {},
        );
        if (o.json) return printJson(rows);
        const head = ['name', 'state', 'start', 'end', 'nodes', 'users', 'flags'];
        const body = rows.map((r) => [
          r.name,
          r.state,
          r.next?.start ?? r.start,
          r.next?.end ?? r.end,
          r.nodes.join(',') || '-',
          r.users.join(','),
          r.flags.join(',') || '-',
        ]);
        console.log(rows.length ? table([head, ...body]) : 'no reservations');
      });
    });
  reservation
    .command('delete')
    .description('delete a reservation: its capacity is open to everyone again')
    .argument('<name>', 'reservation name')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: { reason?: string; json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const body = { name, by: env.user, ...(o.reason !== undefined && { reason: o.reason }) };
        const out = await api.call<{ name: string }>('reservation.delete', body);
        if (o.json) return printJson({ name: out.name, deleted: true });
        console.log(`reservation ${out.name} deleted`);
      });
    });
}
