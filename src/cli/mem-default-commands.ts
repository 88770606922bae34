import type { Command } from 'commander';
import { policyClient } from '../api/index.js';
import { parseMemoryMb } from '../events/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { env, fail } from './connection.js';

type Json = { json?: boolean };
type SetFlags = Json & { fallback?: string; reason?: string };

/** `auto` or a size (`4G`) for `what`; BAD_INPUT naming it otherwise. */
function memOf(what: string, text: string, json: boolean, auto: boolean): number | 'auto' {
  if (auto && text.trim() === 'auto') return 'auto';
  const mb = parseMemoryMb(text);
  if (mb === undefined)
    fail(
      'BAD_INPUT',
      `${what} ${text}: expected a size like 512M or 8G${auto ? ', or auto' : ''}`,
      json,
    );
  return mb;
}

const show = (m: number | 'auto', fallbackMb?: number) =>
  m === 'auto'
    ? `auto${fallbackMb === undefined ? '' : ` (new name: ${fallbackMb} MB)`}`
    : `${m} MB`;

/**
 * Register `mem-default set|clear|list`: a job name's memory default (admins), used when a
 * submission of that name gives no `--mem`: a size, or `auto` (decided from the name's earlier
 * runs, as `submit --mem auto`), with `--fallback SIZE` for a name without runs. Policy as data:
 * each change is the next version of the `memory` policy (`drover audit memory`).
 */
export function registerMemDefaultCommands(program: Command): void {
  const md = program
    .command('mem-default')
    .description("a job name's memory default: a size or auto (admins set, all list)");
  md.command('set')
    .description("set a job name's memory default (admins)")
    .argument('<name>', 'job name (as --name gives it)')
    .argument('<mem>', 'auto, or a size like 4G')
    .option('--fallback <size>', 'with auto: the memory of a name without runs')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, mem: string, o: SetFlags) => {
      const json = o.json === true;
      const memMb = memOf('mem', mem, json, true);
      const fallbackMb =
        o.fallback === undefined
          ? undefined
          : (memOf('--fallback', o.fallback, json, false) as number);
      await withApi(json, async (api) => {
        const r = await policyClient(api).memDefaultSet(name, memMb, {
          by: env.user,
          ...(fallbackMb !== undefined && { fallbackMb }),
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (json) return printJson(r);
        const how = show(memMb, fallbackMb);
        console.log(
          `${name}: memory ${how} (memory v${r.version}${r.changed ? '' : ', unchanged'})`,
        );
      });
    });
  md.command('clear')
    .description("remove a job name's memory default (admins)")
    .argument('<name>', 'job name')
    .option('--reason <text>', 'why (recorded in the log)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: Json & { reason?: string }) => {
      await withApi(o.json === true, async (api) => {
        const r = await policyClient(api).memDefaultClear(name, {
          by: env.user,
          ...(o.reason !== undefined && { reason: o.reason }),
        });
        if (o.json) return printJson(r);
        console.log(`${name}: memory default cleared (memory v${r.version})`);
      });
    });
  md.command('list')
    .description('memory defaults by job name')
    .option('--json', 'print one JSON document')
    .action(async (o: Json) => {
      await withApi(o.json === true, async (api) => {
        const rows = await policyClient(api).memDefaults();
        if (o.json) return printJson(rows);
        const body = rows.map((r) => [r.name, show(r.memMb, r.fallbackMb)]);
        console.log(rows.length ? table([['name', 'memory'], ...body]) : 'no memory defaults');
      });
    });
}
