import { access, constants, cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * Issue 21: the README's "A tour of the CLI", run top to bottom as written against a real farm.
 * The commands come from README.md between `<!-- tour:start` and `<!-- tour:end -->`, so the
 * README and this test cannot drift. Placeholders: JOB is the id the first submit printed, an
 * ISO time is the moment the line runs. Every line must exit 0, or N when its comment says
 * `[exit N]` (the README's "(exit N)" notes say when a command would fail, not what it does here).
 * The tour's scripts are the shipped ones in examples/: the test copies that folder as it is into
 * a scratch checkout root and runs the tour there, as a person would from a fresh clone. Each line
 * runs the compiled CLI's command in that cwd through a CLI session (test/support/cli-session.ts):
 * one long-lived CLI process instead of a cold start per line.
 */
async function tourLines(): Promise<{ line: string; exit: number }[]> {
  const readme = await readFile(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const start = readme.indexOf('<!-- tour:start');
  const end = readme.indexOf('<!-- tour:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('drover '))
    .map((l) => ({
      line: l.replace(/\s+#.*$/, '').trim(),
      exit: Number(/\[exit (\d+)\]/.exec(l)?.[1] ?? 0),
    }));
}

const EXAMPLES = join(import.meta.dirname, '../../../examples');

/** Split a tour line as sh would (the tour uses no quotes). */
const words = (line: string) => line.split(/\s+/).slice(1);

describe('the README tour works as written', () => {
  let farm: ApiFarm;
  let cwd: string;
  let session: CliSession;
  const ALICE = { DROVER_USER: 'alice' };
  beforeAll(async () => {
    farm = await startApiFarm({ cpus: 4, memMb: 16384 });
    cwd = await mkdtemp(join(tmpdir(), 'drover-tour-'));
    await cp(EXAMPLES, join(cwd, 'examples'), {
      recursive: true,
      filter: (src) => !src.startsWith(join(EXAMPLES, 'out')),
    });
    session = cliSession(farm.server.url);
  });
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('runs every command of the tour top to bottom, each exiting as the README says', async () => {
    const lines = await tourLines();
    expect(lines.length).toBeGreaterThan(10);
    let job: string | undefined;
    let report: string | undefined;
    for (const { line, exit } of lines) {
      const args = words(line).map((w) => {
        if (w === 'JOB') {
          expect(job, `${line}: JOB before the first submit`).toBeDefined();
          return job!;
        }
        return /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(w) ? new Date().toISOString() : w;
      });
      const r = await session.run(args, ALICE, 30_000, cwd);
      expect(r.code, `${line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(exit);
      if (args[0] === 'submit') {
        const id = /\b(j\d+)\b/.exec(r.stdout)?.[1];
        expect(id, `${line} printed no job id: ${r.stdout}`).toBeDefined();
        if (job === undefined) job = id;
        else report ??= id;
      }
    }
    // The shipped scripts did their work: every chunk wrote its part, the report summed them.
    expect(await readdir(join(cwd, 'examples/out', job!))).toHaveLength(8);
    const shown = await session.run(['show', report!, '--json'], ALICE, 30_000, cwd);
    const result = JSON.parse(shown.stdout).chunks[0].result;
    expect(result).toMatchObject({ chunks: 8, darts: 8 * 200_000 });
    expect(result.pi).toBeGreaterThan(3.1);
    expect(result.pi).toBeLessThan(3.18);
  }, 240_000); // the tour's work and 23 CLI commands under load: an upper bound

  it('ships the scripts executable, as a fresh clone has them', async () => {
    for (const f of ['simulate.sh', 'report.py'])
      await expect(access(join(EXAMPLES, f), constants.X_OK)).resolves.toBeUndefined();
  });
});
