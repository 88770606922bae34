import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateName } from '../../../src/actors/index.js';
import type {
  CancelPlan,
  Explanation,
  JobView,
  LogEntry,
  NodeView,
} from '../../../src/api/index.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * The drover CLI as a new user would run it against a real farm: the compiled CLI in a session
 * (test/support/cli-session.ts, one process for the commands, each answering as its own process
 * would); the errors' exit codes and output from child processes, one per command.
 */
describe('drover CLI end to end (real farm, API service, the compiled CLI)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const ADA = { DROVER_USER: 'ada' };
  const cli = (...args: string[]) => session.run(args, ADA);
  const spawned = (...args: string[]) => drover(farm.server.url, args, ADA);
  const json = async <T>(...args: string[]): Promise<{ code: number; doc: T; stderr: string }> => {
    const at = args.indexOf('--');
    const withJson =
      at < 0 ? [...args, '--json'] : [...args.slice(0, at), '--json', ...args.slice(at)];
    const r = await cli(...withJson);
    return { code: r.code, doc: JSON.parse(r.stdout) as T, stderr: r.stderr };
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2 });
    session = cliSession(farm.server.url, [ADA]);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  it('submit --wait shows progress and exits with the job outcome (0 succeeded, its own code failed)', async () => {
    const ok = await cli(
      'submit',
      '--wait',
      '--chunks',
      '3',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      'echo chunk $DROVER_CHUNK',
    );
    expect(ok.code).toBe(0);
    const id = ok.stdout.trim();
    expect(id).toMatch(/^j\d+$/);
    expect(ok.stderr).toMatch(/succeeded \[#+\] 3\/3/);
    const bad = await json<{ jobId: string; state: string }>(
      'submit',
      '--wait',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      'exit 3',
    );
    expect(bad.code).toBe(3); // one chunk: the job's own exit code
    expect(bad.doc).toMatchObject({ state: 'failed', exitCode: 3 });

    const shown = await json<JobView>('show', id);
    expect(shown.code).toBe(0);
    expect(shown.doc).toMatchObject({ id, user: 'ada', state: 'succeeded', resultsCleared: false });
    expect(shown.doc.chunks).toHaveLength(3);
    const attempt = shown.doc.chunks[0]?.attempts[0];
    expect(attempt).toMatchObject({ attempt: 1, state: 'exited', cause: 'Succeeded', exitCode: 0 });
    expect(attempt?.node).toMatch(/^node-/);
    expect(attempt?.startedAt).toBeTypeOf('number');
    expect(attempt?.endedAt).toBeTypeOf('number');

    const list = await json<{ id: string; chunks: { total: number; done: number } }[]>(
      'jobs',
      '--all',
      '--user',
      'ada',
    );
    expect(list.doc.find((j) => j.id === id)?.chunks).toEqual({ total: 3, done: 3 });
  }, 60_000);

  it("logs prints each chunk's stdout and stderr, fetched from its node", async () => {
    const r = await cli(
      'submit',
      '--wait',
      '--chunks',
      '2',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      'echo out-$DROVER_CHUNK; echo err-$DROVER_CHUNK >&2',
    );
    const id = r.stdout.trim();
    const all = await json<LogEntry[]>('logs', id);
    expect(all.code).toBe(0);
    const text = (chunk: number, stream: string) =>
      all.doc.find((e) => e.chunk === chunk && e.stream === stream)?.text;
    expect(text(0, 'stdout')).toBe('out-0\n');
    expect(text(1, 'stderr')).toBe('err-1\n');
    const one = await cli('logs', id, '--chunk', '1');
    expect(one.stdout).toContain('out-1');
    expect(one.stdout).not.toContain('out-0');
    const follow = await cli('logs', id, '--chunk', '0', '-f');
    expect(follow.stdout).toContain('out-0');
  }, 60_000);

  it('explain says why a job failed: cause, exit code meaning, node, attempt, last log lines', async () => {
    const r = await cli(
      'submit',
      '--wait',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      'echo looking for it; no-such-tool-xyz',
    );
    expect(r.code).toBe(127); // one chunk: the job's own exit code
    const x = await json<Explanation>('explain', r.stdout.trim());
    expect(x.doc.state).toBe('failed');
    expect(x.doc.failure).toMatchObject({ cause: 'ExitNonZero', exitCode: 127, attempt: 1 });
    expect(x.doc.failure?.meaning).toMatch(/not found/);
    expect(x.doc.failure?.node).toMatch(/^node-/);
    expect(x.doc.failure?.logTail.join('\n')).toContain('looking for it');
    expect(x.doc.recommendations.join(' ')).toMatch(/not found/);
  }, 60_000);

  it('explain says why a job is pending, with what would unblock it', async () => {
    const id = (await cli('submit', '--mem', '64G', '--', 'true')).stdout.trim();
    let x: Explanation | undefined;
    for (let i = 0; i < 100 && !x?.pending?.length; i++) {
      await sleep(100);
      x = (await json<Explanation>('explain', id)).doc;
    }
    expect(x?.state).toBe('queued');
    const reason = x?.pending?.find((p) => p.code === 'Unsatisfiable');
    expect(reason?.message).toBeTruthy();
    expect(reason?.unblock).toBeTruthy();
    expect(x?.recommendations.join(' ')).toMatch(/lower the request/);
    expect((await cli('cancel', id, '--yes')).code).toBe(0);
  }, 60_000);

  it('cancel lists the whole cascade (--dry-run), then cancels it and waits for every process', async () => {
    const parent = (
      await cli('submit', '--name', 'sim', '--mem', '64M', '--', 'sleep', '60')
    ).stdout.trim();
    const child = (
      await cli('submit', '--parent', parent, '--chunks', '2', '--mem', '64M', '--', 'sleep', '60')
    ).stdout.trim();
    await farm.waitFor(child, ['running']);
    let plan: CancelPlan | undefined;
    for (let i = 0; i < 100 && (plan?.processes.length ?? 0) < 3; i++) {
      await sleep(100);
      plan = (await json<{ dryRun: boolean; plan: CancelPlan }>('cancel', parent, '--dry-run')).doc
        .plan;
    }
    expect(plan?.jobs.map((j) => j.id).sort()).toEqual([parent, child].sort());
    expect(plan?.chunks.map((c) => c.id).sort()).toEqual(
      [`${child}:0`, `${child}:1`, `${parent}:0`].sort(),
    );
    expect(plan?.processes).toHaveLength(3);
    expect(plan?.processes.every((p) => /^node-/.test(p.node))).toBe(true);
    const human = await cli('cancel', parent, '--dry-run');
    expect(human.stdout).toContain(`${child}:1`);
    expect(stateName(await farm.job(parent))).toBe('running'); // a dry run touches nothing

    const unconfirmed = await cli('cancel', parent); // no terminal to ask on, no --yes
    expect(unconfirmed.code).toBe(4);
    expect(unconfirmed.stderr).toMatch(/^error: REFUSED: .*--yes$/m);

    const refused = await cli('clear', parent, '--yes');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^error: REFUSED: .*is running/m);

    const done = await json<{ id: string; state: string; plan: CancelPlan }>(
      'cancel',
      parent,
      '--yes',
    );
    expect(done.code).toBe(0);
    expect(done.doc.state).toBe('cancelled');
    for (const p of plan?.processes ?? []) {
      const events = await farm.events('worker', p.worker);
      expect(events.map((e) => e.type)).toContain('worker.killed');
    }
    expect(stateName(await farm.job(child))).toBe('cancelled');

    const cleared = await json<{ cleared: boolean }>('clear', parent, '--yes');
    expect(cleared.code).toBe(0);
    expect(cleared.doc.cleared).toBe(true);
    expect((await json<JobView>('show', parent)).doc.resultsCleared).toBe(true);
    const again = await json<{ error: { code: string } }>('clear', parent, '--yes');
    expect(again.code).toBe(4);
    expect(again.doc.error.code).toBe('REFUSED');
  }, 90_000);

  it('nodes and node cordon/uncordon', async () => {
    const nodes = await json<NodeView[]>('nodes');
    expect(nodes.doc.map((n) => n.id).sort()).toEqual(['node-1', 'node-2']);
    expect(nodes.doc[0]).toMatchObject({ state: 'ready', cpus: 4, memMb: 4096, gpus: 0 });
    expect(nodes.doc[0]?.used.cpus).toBeLessThanOrEqual(4);
    expect(nodes.doc[0]?.lastHeartbeatAt).toBeTypeOf('number');
    const cordoned = await json<{ state: string }>('node', 'cordon', 'node-2', '--reason', 'disk');
    expect(cordoned.doc.state).toBe('cordoned');
    expect((await json<{ state: string }>('node', 'uncordon', 'node-2')).doc.state).toBe('ready');
    expect((await cli('node', 'drain', 'node-9')).code).toBe(3);
  }, 60_000);

  it('a submission the intake rejected is visible in drover audit, with its reason', async () => {
    const id = await farm.submit({ name: 'typo', user: 'ada', command: ['true'], memMB: 64 });
    let r = await cli('audit', id, '--json');
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await sleep(100);
      r = await cli('audit', id, '--json');
    }
    expect(r.code).toBe(0);
    const [entry] = JSON.parse(r.stdout) as {
      type: string;
      data: { jobId: string; error: { message: string } };
    }[];
    expect(entry?.type).toBe('submission.rejected');
    expect(entry?.data.jobId).toBe(id);
    expect(entry?.data.error.message).toContain('memMB');
    expect((await farm.events('job', id)).length).toBe(0);
  }, 60_000);

  it('errors: one line on stderr, or a JSON error document, with the CONTRACT exit codes', async () => {
    // Processes of their own (the exit code as a shell sees it), started together.
    const [missing, missingJson, bad, badState, down] = await Promise.all([
      spawned('show', 'j99999'),
      spawned('explain', 'j99999', '--json'),
      spawned('submit', '--cpus', 'many', '--', 'true'),
      spawned('jobs', '--state', 'sleeping'),
      drover('nats://127.0.0.1:1', ['jobs', '--json']),
    ]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('error: NOT_FOUND: no job j99999\n');
    expect(missingJson.code).toBe(3);
    expect(JSON.parse(missingJson.stdout).error.code).toBe('NOT_FOUND');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: BAD_INPUT: --cpus/);
    expect(badState.code).toBe(2);
    expect(down.code).toBe(5);
    expect(JSON.parse(down.stdout).error.code).toBe('UNAVAILABLE');
  }, 60_000);
});
