import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drover, startApiFarm, type ApiFarm, type CliResult } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * The CLI session (test/support/cli-session.ts) stands for one `drover` process per command in
 * the CLI tests: it must answer what that process answers. Each command here runs both ways,
 * against the same farm, and the answers must be equal: exit codes of every kind (0, a parse
 * error, bad input, not found), stdout (JSON and text) and stderr, the user from the environment.
 */
describe('a CLI session answers as one drover process per command', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const ADA = { DROVER_USER: 'ada' };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 1 });
    session = cliSession(farm.server.url);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  /** Both ways at once (the processes are the slow part); the same answer from each. */
  const both = async (args: string[], env: Record<string, string> = ADA) => {
    const [spawned, inSession] = await Promise.all([
      drover(farm.server.url, args, env),
      session.run(args, env),
    ]);
    expect(inSession, `drover ${args.join(' ')}`).toEqual(spawned);
    return spawned;
  };

  it('exit codes, stdout and stderr are those of the process', async () => {
    const cases: [string[], number][] = [
      [['submit', '--cpus', 'many', '--', 'true'], 2], // bad input, text on stderr
      [['submit', '--json', '--cpus', 'many', '--', 'true'], 2], // the same as a JSON document
      [['show', 'no-such-job', '--json'], 3],
      [['jobs', '--no-such-flag'], 2], // commander's parse error, through the contract
      [['quota', 'list', '--json'], 0],
    ];
    // The processes all at once (each start is the slow part), the session's one after another.
    const spawned = await Promise.all(cases.map(([args]) => drover(farm.server.url, args, ADA)));
    for (const [i, [args, code]] of cases.entries()) {
      expect(await session.run(args, ADA), `drover ${args.join(' ')}`).toEqual(spawned[i]);
      expect(spawned[i]!.code).toBe(code);
    }
  }, 120_000);

  it('a command that exits does not end the session, and the environment is each command’s', async () => {
    const submitted: Record<string, string> = {};
    for (const user of ['ada', 'bob']) {
      const r = await session.run(['submit', '--json', '--name', `by-${user}`, '--', 'true'], {
        DROVER_USER: user,
      });
      expect(r.code, r.stderr).toBe(0); // the submit exited 0: the next command still runs
      submitted[user] = (JSON.parse(r.stdout) as { jobId: string }).jobId;
    }
    for (const id of Object.values(submitted)) await farm.waitFor(id);
    // Until the API's read model has both as finished (then nothing changes between the two runs).
    type Row = { id: string; user: string; state: string };
    const done = (r: CliResult) =>
      (JSON.parse(r.stdout) as Row[]).filter((j) => j.state === 'succeeded').length === 2;
    const deadline = Date.now() + 30_000;
    while (!done(await session.run(['jobs', '--all', '--json'], ADA))) {
      if (Date.now() > deadline) throw new Error('the read model never showed both jobs done');
      await sleep(100);
    }
    const rows = JSON.parse((await both(['jobs', '--all', '--json'])).stdout) as Row[];
    expect(Object.fromEntries(rows.map((j) => [j.user, j.id]))).toEqual({
      ada: submitted.ada,
      bob: submitted.bob,
    });
    // A refusal from inside the command's API call (no terminal to confirm on): the exit's code
    // is the answer, not what the command's own error handling makes of the unwinding.
    expect((await both(['cancel', submitted.ada!])).code).toBe(4);
  }, 120_000);

  it('refuses the services, which a test must spawn', async () => {
    await expect(session.run(['scheduler'], ADA)).rejects.toThrow(/not a one-shot command/);
    expect((await session.run(['nodes', '--json'], ADA)).code).toBe(0);
  }, 60_000);
});
