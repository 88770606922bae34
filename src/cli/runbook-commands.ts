import type { Command } from 'commander';
import type { RunbookRunView } from '../api/index.js';
import { ErrorCodes, SchedulerError, type Runbook } from '../events/index.js';
import { matchesPattern } from '../policy/runbook/index.js';
import { failWith, printJson, table, time, withApi } from './api-cli.js';
import { env } from './connection.js';
import { loadRunbooks, runbookDirs } from './runbook-files.js';
import { driveRunbook } from './runbook-runner.js';
import { terminalPerson, type RunbookPerson } from './runbook-terminal.js';

interface RunOpts {
  json?: boolean;
  yes?: boolean;
  arg: string[];
  dir: string[];
}

const repeat = (v: string, all: string[]) => [...all, v];

/** `--arg k=v` flags as a record; BAD_INPUT naming the flag that is not `k=v`. */
export function parseArgFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const at = f.indexOf('=');
    if (at < 1) throw new SchedulerError(ErrorCodes.BadInput, `--arg ${f}: expected NAME=VALUE`);
    out[f.slice(0, at)] = f.slice(at + 1);
  }
  return out;
}

/**
 * The run's arguments from the flags: each argument given, else asked on a terminal, else its
 * default; BAD_INPUT naming the argument when none of those gives a value that fits its pattern,
 * and naming a flag that is neither an argument nor an `ask` step of the runbook.
 */
async function argumentsOf(r: Runbook, given: Record<string, string>, person: RunbookPerson) {
  const asks = new Set(r.steps.filter((s) => s.kind === 'ask').map((s) => s.id));
  for (const name of Object.keys(given))
    if (!r.args.some((a) => a.name === name) && !asks.has(name))
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `--arg ${name}: ${r.name} has no argument or question ${name} (arguments: ${r.args.map((a) => a.name).join(', ') || 'none'})`,
      );
  const args: Record<string, string> = {};
  for (const a of r.args) {
    const fits = (v: string): true | string =>
      a.pattern === undefined || matchesPattern(a.pattern, v) ? true : `must match ${a.pattern}`;
    let value = given[a.name];
    if (value === undefined && person.interactive)
      value = await person.ask(a.description ?? a.name, {
        ...(a.default !== undefined && { default: a.default }),
        validate: fits,
      });
    value ??= a.default;
    if (value === undefined)
      throw new SchedulerError(
        ErrorCodes.BadInput,
        `--arg ${a.name}=VALUE is required (${a.description ?? a.name})`,
      );
    const ok = fits(value);
    if (ok !== true)
      throw new SchedulerError(ErrorCodes.BadInput, `--arg ${a.name}=${value}: ${ok}`);
    args[a.name] = value;
  }
  const answers = Object.fromEntries(Object.entries(given).filter(([k]) => asks.has(k)));
  return { args, answers };
}

function report(run: RunbookRunView, json: boolean): void {
  if (json) return printJson(run);
  console.log(
    `runbook run ${run.id} (${run.name}): ${run.state}${run.reason ? `: ${run.reason}` : ''}`,
  );
}

/**
 * Register `runbook list|run|resume|runs` (CONTRACT "Operations"). Procedures are files (the
 * shipped `runbooks/` folder, `DROVER_RUNBOOKS_DIR`, `--dir`); each run is an entity in the log,
 * every step, answer and action an event by the person running it.
 */
export function registerRunbookCommands(program: Command): void {
  const rb = program
    .command('runbook')
    .description('guided procedures: every step, answer and action in the log');
  rb.command('list')
    .description('the runbooks there are: name, summary, steps')
    .option(
      '--dir <folder>',
      'also read runbooks from this folder (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean; dir: string[] }) => {
      try {
        const found = await loadRunbooks(runbookDirs(o.dir));
        const list = [...found.values()].map(({ runbook: r, file }) => ({
          name: r.name,
          summary: r.summary,
          steps: r.steps.map((s) => ({
            id: s.id,
            kind: s.kind,
            ...(s.title !== undefined && { title: s.title }),
          })),
          args: r.args.map((a) => a.name),
          file,
        }));
        if (o.json) printJson(list);
        else
          console.log(
            table([
              ['name', 'steps', 'summary'],
              ...list.map((r) => [r.name, r.steps.length, r.summary]),
            ]),
          );
      } catch (err) {
        failWith(err, o.json === true);
      }
    });
  rb.command('run')
    .description('run a runbook: asks where a person is needed, confirms dangerous steps')
    .argument('<name>', 'runbook name (drover runbook list)')
    .option(
      '--arg <k=v>',
      'an argument, or the answer to a question by its id (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--yes', 'answer yes to every confirmation (needed without a terminal)')
    .option(
      '--dir <folder>',
      'also read runbooks from this folder (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--json', 'print one JSON document: the run at its end')
    .action(async (name: string, o: RunOpts) => {
      const json = o.json === true;
      const person = terminalPerson();
      let prepared;
      try {
        const found = (await loadRunbooks(runbookDirs(o.dir))).get(name);
        if (!found)
          throw new SchedulerError(ErrorCodes.NotFound, `no runbook ${name} (drover runbook list)`);
        prepared = {
          runbook: found.runbook,
          ...(await argumentsOf(found.runbook, parseArgFlags(o.arg), person)),
        };
      } catch (err) {
        failWith(err, json);
      }
      await withApi(json, async (api) => {
        const run = await api.runbookStart(prepared.runbook, prepared.args, { by: env.user });
        person.say(
          `runbook run ${run.id} (${run.name}); if interrupted: drover runbook resume ${run.id}`,
        );
        const end = await driveRunbook(run, {
          api,
          person,
          yes: o.yes === true,
          answers: prepared.answers,
          by: env.user,
        });
        report(end, json);
      });
    });
  rb.command('resume')
    .description('continue an interrupted run where it stopped')
    .argument('<id>', 'run id')
    .option(
      '--arg <k=v>',
      'the answer to a question by its id (repeatable)',
      repeat,
      [] as string[],
    )
    .option('--yes', 'answer yes to every confirmation (needed without a terminal)')
    .option('--json', 'print one JSON document: the run at its end')
    .action(async (id: string, o: RunOpts) => {
      const json = o.json === true;
      let answers: Record<string, string> = {};
      try {
        answers = parseArgFlags(o.arg);
      } catch (err) {
        failWith(err, json);
      }
      await withApi(json, async (api) => {
        const person = terminalPerson();
        const run = await api.runbookGet(id);
        person.say(
          `resuming runbook run ${run.id} (${run.name}) at step ${run.at + 1} of ${run.steps.length}`,
        );
        report(
          await driveRunbook(run, { api, person, yes: o.yes === true, answers, by: env.user }),
          json,
        );
      });
    });
  rb.command('runs')
    .description('runbook runs in progress (--all: every run)')
    .option('--all', 'also the ended ones')
    .option('--json', 'print one JSON document')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await withApi(o.json === true, async (api) => {
        const runs = await api.runbookRuns({ all: o.all === true });
        if (o.json) return printJson(runs);
        const rows = runs.map((r) => [
          r.id,
          r.name,
          r.state,
          `${Math.min(r.at + 1, r.steps.length)}/${r.steps.length}`,
          r.startedBy?.id ?? '-',
          time(r.startedAt),
        ]);
        console.log(
          runs.length
            ? table([['run', 'runbook', 'state', 'step', 'by', 'started'], ...rows])
            : 'no runbook runs in progress',
        );
      });
    });
}
