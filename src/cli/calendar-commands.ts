import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { IsoDateSchema } from '../events/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { env, fail } from './connection.js';

/**
 * Read a calendar file: JSON when it ends in `.json`, YAML otherwise (YAML 1.2: `09:30` and
 * `2016-01-01` stay strings). Unreadable or unparsable files are BAD_INPUT (exit 2) naming the
 * file and, for YAML, the line. Validation of the content is the API's (`parseCalendar`).
 */
export async function readCalendarFile(file: string, json: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('NOT_FOUND', `${file}: no such file`, json);
    fail('BAD_INPUT', `${file}: ${(err as Error).message}`, json);
  }
  try {
    return extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML';
    const first = (err as Error).message.split('\n')[0];
    fail('BAD_INPUT', `${file}: not valid ${kind}: ${first}`, json);
  }
}

function checkDate(flag: string, value: string | undefined, json: boolean): string {
  if (value === undefined) fail('BAD_INPUT', `${flag} is required (YYYY-MM-DD)`, json);
  if (!IsoDateSchema.safeParse(value).success)
    fail('BAD_INPUT', `${flag} ${value}: expected YYYY-MM-DD`, json);
  return value;
}

function checkVersion(value: string | undefined, json: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    fail('BAD_INPUT', `--version ${value}: expected a positive integer`, json);
  return n;
}

/**
 * Register `calendar import FILE`, `calendar list` and `calendar sessions NAME --from --to
 * [--version N]` (CONTRACT "Calendars"). Import is an admin's act, recorded with who did it.
 */
export function registerCalendarCommands(program: Command): void {
  const calendar = program
    .command('calendar')
    .description('trading calendars: versioned data in the log');
  calendar
    .command('import')
    .description('import a calendar file (YAML or JSON): a change is the next version')
    .argument('<file>', 'calendar file')
    .option('--json', 'print one JSON document')
    .action(async (file: string, o: { json?: boolean }) => {
      const json = o.json === true;
      const content = await readCalendarFile(file, json);
      await withApi(json, async (api) => {
        const out = await api.calendarImport(content, { by: env.user });
        if (json) return printJson({ name: out.name, version: out.version });
        const what = out.changed ? 'imported' : 'unchanged';
        console.log(`${out.name}: version ${out.version} (${what})`);
      });
    });
  calendar
    .command('list')
    .description('calendars with their latest version, zone and the dates they cover')
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const rows = await api.calendars();
        if (o.json) return printJson(rows);
        const head = ['name', 'version', 'timezone', 'from', 'to'];
        const body = rows.map((r) => [r.name, r.version, r.timezone, r.from ?? '-', r.to ?? '-']);
        console.log(rows.length ? table([head, ...body]) : 'no calendars');
      });
    });
  calendar
    .command('sessions')
    .description('sessions of a calendar from --from to --to (both included)')
    .argument('<name>', 'calendar name')
    .option('--from <date>', 'first date, YYYY-MM-DD')
    .option('--to <date>', 'last date, YYYY-MM-DD')
    .option('--version <n>', 'a past version (default: the latest)')
    .option('--json', 'print one JSON document')
    .action(
      async (name: string, o: { from?: string; to?: string; version?: string; json?: boolean }) => {
        const json = o.json === true;
        const from = checkDate('--from', o.from, json);
        const to = checkDate('--to', o.to, json);
        const version = checkVersion(o.version, json);
        await withApi(json, async (api) => {
          const out = await api.calendarSessions(name, from, to, {
            ...(version !== undefined && { version }),
          });
          if (json) return printJson(out.sessions);
          const body = out.sessions.map((s) => [s.date, s.open, s.close]);
          console.log(
            out.sessions.length
              ? table([['date', 'open', 'close'], ...body])
              : `no sessions of ${name} v${out.version} from ${from} to ${to}`,
          );
        });
      },
    );
}
