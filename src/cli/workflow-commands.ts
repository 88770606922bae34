import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import type { ApiClient, RunView, WorkflowRow } from '../api/index.js';
import { IsoDateSchema } from '../events/index.js';
import { printJson, table, withApi } from './api-cli.js';
import { readCalendarFile } from './calendar-commands.js';
import { env, fail } from './connection.js';

type Json = { json?: boolean };

function checkDate(
  flag: string,
  value: string | undefined,
  json: boolean,
  required: boolean,
): string | undefined {
  if (value === undefined) {
    if (required) fail('BAD_INPUT', `${flag} is required (YYYY-MM-DD)`, json);
    return undefined;
  }
  if (!IsoDateSchema.safeParse(value).success)
    fail('BAD_INPUT', `${flag} ${value}: expected YYYY-MM-DD`, json);
  return value;
}

function checkCount(flag: string, value: string | undefined, json: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    fail('BAD_INPUT', `${flag} ${value}: expected a positive integer`, json);
  return n;
}

/** A workflow file's content, its commands running in the file's folder unless it names a `cwd`. */
async function readWorkflowFile(file: string, json: boolean): Promise<unknown> {
  const content = await readCalendarFile(file, json);
  if (content && typeof content === 'object' && !Array.isArray(content) && !('cwd' in content))
    return { ...content, cwd: dirname(resolve(file)) };
  return content;
}

const call = <T>(api: ApiClient, op: string, body: unknown) =>
  api.call<T>(op as Parameters<ApiClient['call']>[0], body, 30_000);

function registerWorkflowOps(workflow: Command): void {
  workflow
    .command('apply')
    .description('apply a workflow file (YAML or JSON): a change is the next version')
    .argument('<file>', 'workflow file')
    .option('--json', 'print one JSON document')
    .action(async (file: string, o: Json) => {
      const json = o.json === true;
      const content = await readWorkflowFile(file, json);
      await withApi(json, async (api) => {
        const out = await call<{ name: string; version: number; changed: boolean }>(
          api,
          'workflow.apply',
          {
            workflow: content,
            by: env.user,
          },
        );
        if (json) return printJson({ name: out.name, version: out.version });
        console.log(
          `${out.name}: version ${out.version} (${out.changed ? 'applied' : 'unchanged'})`,
        );
      });
    });
  workflow
    .command('list')
    .description('workflows with their version, whether paused, and the next fire')
    .option('--json', 'print one JSON document')
    .action(async (o: Json) => {
      await withApi(o.json === true, async (api) => {
        const { workflows } = await call<{ workflows: WorkflowRow[] }>(api, 'workflow.list', {});
        if (o.json) return printJson(workflows);
        const body = workflows.map((w) => [
          w.name,
          w.version,
          w.paused ? 'yes' : 'no',
          w.next ?? '-',
        ]);
        console.log(
          workflows.length
            ? table([['name', 'version', 'paused', 'next'], ...body])
            : 'no workflows',
        );
      });
    });
  workflow
    .command('next')
    .description('the next fire times of a workflow')
    .argument('<name>', 'workflow name')
    .option('--count <n>', 'how many (default 5)')
    .option('--from <iso>', 'from this instant (default now)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: Json & { count?: string; from?: string }) => {
      const json = o.json === true;
      const count = checkCount('--count', o.count, json);
      const from = o.from === undefined ? undefined : Date.parse(o.from);
      if (from !== undefined && Number.isNaN(from))
        fail('BAD_INPUT', `--from ${o.from}: expected an ISO 8601 time`, json);
      await withApi(json, async (api) => {
        const { next } = await call<{ next: string[] }>(api, 'workflow.next', {
          name,
          ...(count !== undefined && { count }),
          ...(from !== undefined && { from }),
        });
        if (json) return printJson(next);
        console.log(next.length ? next.join('\n') : `no fires of ${name}`);
      });
    });
  for (const op of ['pause', 'resume'] as const) {
    workflow
      .command(op)
      .description(
        op === 'pause' ? 'fire no new runs (runs already fired go on)' : 'fire runs again',
      )
      .argument('<name>', 'workflow name')
      .option('--json', 'print one JSON document')
      .action(async (name: string, o: Json) => {
        await withApi(o.json === true, async (api) => {
          const out = await call<{ name: string; paused: boolean }>(api, `workflow.${op}`, {
            name,
            by: env.user,
          });
          if (o.json) return printJson({ name: out.name, paused: out.paused });
          console.log(`${out.name}: ${out.paused ? 'paused' : 'active'}`);
        });
      });
  }
}

function registerRunOps(workflow: Command, program: Command): void {
  workflow
    .command('trigger')
    .description('run a workflow now for a logical date (default: today in its zone)')
    .argument('<name>', 'workflow name')
    .option('--date <date>', 'logical date, YYYY-MM-DD')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: Json & { date?: string }) => {
      const json = o.json === true;
      const date = checkDate('--date', o.date, json, false);
      await withApi(json, async (api) => {
        const out = await call<{ run: string }>(api, 'workflow.trigger', {
          name,
          ...(date !== undefined && { date }),
          by: env.user,
        });
        if (json) return printJson({ run: out.run });
        console.log(out.run);
      });
    });
  workflow
    .command('backfill')
    .description('a run for every date the schedule fires on from --from to --to (both included)')
    .argument('<name>', 'workflow name')
    .option('--from <date>', 'first logical date, YYYY-MM-DD')
    .option('--to <date>', 'last logical date, YYYY-MM-DD')
    .option('--dry-run', 'list the runs without creating them')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: Json & { from?: string; to?: string; dryRun?: boolean }) => {
      const json = o.json === true;
      const from = checkDate('--from', o.from, json, true);
      const to = checkDate('--to', o.to, json, true);
      await withApi(json, async (api) => {
        const out = await call<{ runs: string[] }>(api, 'workflow.backfill', {
          name,
          from,
          to,
          dryRun: o.dryRun === true,
          by: env.user,
        });
        if (json) return printJson({ runs: out.runs });
        const verb = o.dryRun ? 'would create' : 'created';
        console.log(out.runs.length ? `${verb}:\n${out.runs.join('\n')}` : 'no runs to create');
      });
    });
  program
    .command('runs')
    .description("a workflow's runs, newest first, with each task's job and state")
    .argument('<name>', 'workflow name')
    .option('--limit <n>', 'how many (default 20)')
    .option('--json', 'print one JSON document')
    .action(async (name: string, o: Json & { limit?: string }) => {
      const json = o.json === true;
      const limit = checkCount('--limit', o.limit, json);
      await withApi(json, async (api) => {
        const { runs } = await call<{ runs: RunView[] }>(api, 'runs.list', {
          name,
          ...(limit !== undefined && { limit }),
        });
        if (json) return printJson(runs);
        const rows = runs.map((r) => [
          r.run,
          r.state,
          r.tasks.map((t) => `${t.task}:${t.state}`).join(' '),
        ]);
        console.log(
          runs.length ? table([['run', 'state', 'tasks'], ...rows]) : `no runs of ${name}`,
        );
      });
    });
}

/**
 * Register `workflow apply|list|next|pause|resume|trigger|backfill` and `runs` (CONTRACT
 * "Workflows and schedules"). Every act is recorded with who did it (`drover audit NAME`).
 */
export function registerWorkflowCommands(program: Command): void {
  const workflow = program
    .command('workflow')
    .description('workflows: tasks on a schedule, runs as job trees');
  registerWorkflowOps(workflow);
  registerRunOps(workflow, program);
}
