import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { JobView } from '../api/index.js';
import type { Environment } from '../events/index.js';
import { captureEnvironment, droverVersion } from '../node-agent/index.js';
import { diffJobs, environmentChanges, type Difference } from '../policy/index.js';
import { printJson, withApi } from './api-cli.js';
import { fail } from './connection.js';

interface JsonOpt {
  json?: boolean;
}

/** The environment lines of `drover show` (human format). Pure. */
export function environmentLines(e: Environment | undefined): string[] {
  if (!e) return [];
  const git =
    e.gitCommit === undefined
      ? 'not a git repository'
      : `git ${e.gitCommit}${e.dirty ? ' (dirty)' : ''}`;
  const locks = Object.keys(e.lockfiles ?? {}).join(', ');
  return [
    `  environment ${e.cwd}: ${git}; agent ${e.agentVersion}`,
    `    lockfiles ${e.lockfileHash ? `${e.lockfileHash.slice(0, 12)} (${locks})` : 'none'}  env ${e.envHash.slice(0, 12)}${e.image ? `  image ${e.image}` : ''}`,
  ];
}

const shownValue = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `drover diff` as text: one line per difference. Pure. */
export function diffText(a: string, b: string, diffs: readonly Difference[]): string {
  if (diffs.length === 0) return `${a} and ${b}: same request and environment`;
  return diffs
    .map((d) => `${d.field}: ${shownValue(d.a)} (${a}) -> ${shownValue(d.b)} (${b})`)
    .join('\n');
}

/**
 * The check `resubmit --same-environment` makes before submitting, where it runs: when the job's
 * recorded cwd exists here, what changed there since (empty when it still holds or cannot be
 * checked from here; the agent checks again before it starts the copy).
 */
async function changesHere(job: JobView): Promise<string[]> {
  const e = job.environment;
  if (!e || !existsSync(e.cwd)) return [];
  const now = await captureEnvironment({ cwd: e.cwd, env: {}, agentVersion: droverVersion() });
  return environmentChanges(e, now);
}

/** `drover resubmit JOB [--same-environment]` and `drover diff JOB1 JOB2`. */
export function registerEnvironmentCommands(program: Command): void {
  program
    .command('resubmit')
    .description(
      "submit a copy of a job's request (new id); --same-environment pins it to the recorded environment",
    )
    .argument('<job>', 'job id')
    .option(
      '--same-environment',
      'refuse (exit 4) unless the recorded commit, dirty state and lockfiles still hold',
    )
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: JsonOpt & { sameEnvironment?: boolean }) => {
      const json = o.json === true;
      await withApi(json, async (api) => {
        if (o.sameEnvironment) {
          const job = await api.job(id, { chunks: false });
          const changes = await changesHere(job);
          if (changes.length > 0) {
            fail('REFUSED', `the environment of ${id} changed: ${changes.join('; ')}`, json, {
              changes,
            });
          }
        }
        const user = process.env.DROVER_USER;
        const r = await api.resubmit(id, {
          ...(o.sameEnvironment === true && { sameEnvironment: true }),
          ...(user !== undefined && user !== '' && { user }),
        });
        if (json) printJson(r);
        else console.log(r.jobId);
      });
    });
  program
    .command('diff')
    .description("what differs between two jobs' requests and environments")
    .argument('<job1>', 'job id (the one that worked, say)')
    .argument('<job2>', 'job id')
    .option('--json', 'print one JSON document')
    .action(async (a: string, b: string, o: JsonOpt) => {
      const json = o.json === true;
      await withApi(json, async (api) => {
        const [ja, jb] = await Promise.all([api.job(a), api.job(b)]);
        const differences = diffJobs(ja, jb);
        if (json) printJson({ a, b, differences });
        else console.log(diffText(a, b, differences));
      });
    });
}
