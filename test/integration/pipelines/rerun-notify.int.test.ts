import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntityRuntime } from '../../../src/actors/index.js';
import {
  createWebhookSender,
  startRunNotifier,
  type RunNotifier,
} from '../../../src/notify/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { quietLogger } from '../../support/farm.js';

interface Received {
  key: string;
  status: number;
  body: {
    workflow: string;
    run: string;
    task?: string;
    event: string;
    attempt?: number;
    at: string;
    text: string;
  };
}
interface RunDoc {
  run: string;
  state: string;
  tasks: { task: string; jobId: string | null; state: string }[];
}

/**
 * `drover rerun` and the workflows' webhooks on a real farm: CLI processes, the notifier beside
 * the API as `drover api` runs it, and a real HTTP receiver that answers 503 to the first
 * request of each notification (so every delivery is retried with backoff, same key).
 */
describe('rerun and notifications (real farm, real receiver)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  let receiver: Server;
  let url: string;
  let notifier: RunNotifier;
  const received: Received[] = [];
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' }, 60_000, dir);
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
      await sleep(200);
    }
  };
  const waitRun = (name: string, run: string, states: string[]) =>
    waitFor(`${run} in ${states.join('|')}`, async () => {
      const { doc } = await json<RunDoc[]>('runs', name);
      const found = doc.find((r) => r.run === run);
      return found && states.includes(found.state) ? found : undefined;
    });
  const keysOf = (run: string) => [
    ...new Set(received.filter((r) => r.body.run === run).map((r) => r.key)),
  ];
  const newNotifier = (clock?: () => number) =>
    startRunNotifier({
      runtime: createEntityRuntime({ eventLog: farm.log }),
      live: farm.api.live,
      logger: quietLogger,
      intervalMs: 200,
      ...(clock && { clock }),
      sender: createWebhookSender({
        policy: { maxAttempts: 5, baseDelayMs: 300, maxDelayMs: 2_000 },
        ...(clock && { now: clock }),
      }),
    });

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1, cpus: 4 });
    dir = await mkdtemp(join(tmpdir(), 'drover-rerun-'));
    session = cliSession(farm.server.url);
    const seen = new Set<string>();
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        const status = seen.has(key) ? 200 : 503;
        seen.add(key);
        received.push({ key, status, body: JSON.parse(text) as Received['body'] });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    const address = receiver.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    notifier = newNotifier();
  }, 60_000);
  afterAll(async () => {
    await notifier?.stop();
    await session?.stop();
    await farm?.stop();
    receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('notifies retry and failure, reruns exactly the failed tasks after listing them, then notifies success', async () => {
    const file = join(dir, 'pipe.yaml');
    await writeFile(
      file,
      [
        'name: pipe',
        'tasks:',
        '  - { id: a, retries: 1, command: [sh, -c, "test -f a.mark || { touch a.mark; exit 1; }"] }',
        '  - { id: b, after: [a], command: [sh, -c, "test -f b.ok"] }',
        '  - { id: c, after: [b], command: ["true"] }',
        '  - { id: d, after: [a], command: ["true"] }',
        'notify:',
        `  - { url: "${url}", on: [retry, failure, success] }`,
      ].join('\n'),
    );
    expect((await cli('workflow', 'apply', file)).code).toBe(0);
    expect((await cli('workflow', 'trigger', 'pipe', '--date', '2016-03-24')).code).toBe(0);
    const run = 'pipe@2016-03-24';
    const failed = await waitRun('pipe', run, ['failed', 'succeeded']);
    expect(failed.tasks.map((t) => [t.task, t.state])).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'upstream_failed'],
      ['d', 'succeeded'],
    ]);

    // Retry, the task's failure and the run's failure: each refused once (503), then delivered.
    const expected = ['pipe_2016-03-24_a:retry:2', 'pipe_2016-03-24_b:failure', `${run}:failure`];
    await waitFor('three notifications delivered', async () => {
      const ok = received.filter((r) => r.status === 200).map((r) => r.key);
      return expected.every((k) => ok.includes(k)) ? true : undefined;
    });
    expect(keysOf(run).sort()).toEqual([...expected].sort());
    for (const key of expected)
      expect(received.filter((r) => r.key === key).map((r) => r.status)).toEqual([503, 200]);
    const retry = received.find((r) => r.key === expected[0])!.body;
    expect(retry).toMatchObject({ workflow: 'pipe', run, task: 'a', event: 'retry', attempt: 2 });
    expect(retry.text).toContain('Retrying task a of pipe@2016-03-24');
    expect(received.find((r) => r.key === expected[1])!.body).toMatchObject({
      task: 'b',
      event: 'failure',
    });
    // Every attempt is an event on the run, the failed one saying when it will try again.
    const notified = await waitFor('the deliveries recorded', async () => {
      const events = (await farm.log.read('run', run)).events.filter(
        (e) => e.type === 'run.notified',
      );
      return events.length >= 6 ? events : undefined;
    });
    const ofFailure = notified
      .map((e) => e.data as { key: string; attempt: number; ok: boolean; retryInMs?: number })
      .filter((d) => d.key === `${run}:failure`);
    expect(ofFailure).toMatchObject([
      { attempt: 1, ok: false, retryInMs: expect.any(Number) },
      { attempt: 2, ok: true },
    ]);

    // The listing: exactly the instances a rerun clears.
    const byFailed = await json<{ tasks: { task: string; jobId: string; state: string }[] }>(
      'rerun',
      run,
      '--failed',
      '--dry-run',
    );
    expect(byFailed.doc.tasks).toEqual([
      { task: 'b', jobId: 'pipe_2016-03-24_b', state: 'failed' },
      { task: 'c', jobId: null, state: 'upstream_failed' },
    ]);
    const down = await json<{ tasks: { task: string }[] }>(
      'rerun',
      run,
      '--task',
      'a',
      '--downstream',
      '--dry-run',
    );
    expect(down.doc.tasks.map((t) => t.task)).toEqual(['a', 'b', 'c', 'd']);
    const none = await cli('rerun', run, '--task', 'd', '--failed', '--dry-run');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--failed');
    // No terminal and no --yes: refused, nothing cleared.
    const asked = await cli('rerun', run, '--failed');
    expect(asked.code).toBe(4);
    expect(asked.stderr).toContain('pass --yes');
    expect((await farm.log.read('run', run)).events.map((e) => e.type)).not.toContain(
      'run.rerun_requested',
    );

    await writeFile(join(dir, 'b.ok'), '');
    const done = await json<{ run: string; tasks: { task: string }[] }>(
      'rerun',
      run,
      '--failed',
      '--yes',
    );
    expect(done.code, done.stderr).toBe(0);
    expect(done.doc).toEqual({ run, tasks: byFailed.doc.tasks });
    const again = await waitRun('pipe', run, ['succeeded', 'failed']);
    expect(again.state).toBe('succeeded');
    expect(again.tasks).toEqual([
      { task: 'a', jobId: 'pipe_2016-03-24_a', state: 'succeeded' },
      { task: 'b', jobId: 'pipe_2016-03-24_b-r1', state: 'succeeded' },
      { task: 'c', jobId: 'pipe_2016-03-24_c-r1', state: 'succeeded' },
      { task: 'd', jobId: 'pipe_2016-03-24_d', state: 'succeeded' },
    ]);
    // Audit: who reran what, and the old jobs' results cleared through the kernel.
    const audit = await json<{ type: string; by: { id: string }; data: { tasks?: unknown } }[]>(
      'audit',
      run,
    );
    const rerun = audit.doc.find((e) => e.type === 'run.rerun_requested');
    expect(rerun?.by.id).toBe('ada');
    expect(rerun?.data.tasks).toEqual(byFailed.doc.tasks);
    const oldB = (await farm.log.read('job', 'pipe_2016-03-24_b')).events.map((e) => e.type);
    expect(oldB).toContain('job.results_cleared');
    await waitFor('success delivered', async () =>
      received.some((r) => r.key === `${run}:success:r1` && r.status === 200) ? true : undefined,
    );
    expect(received.filter((r) => r.key === `${run}:success:r1`).map((r) => r.status)).toEqual([
      503, 200,
    ]);
  }, 180_000);

  it('refuses a rerun while a process of the run is alive (exit 4, naming it); a missed deadline is notified', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await writeFile(
      join(dir, 'slow.yaml'),
      [
        'name: slow',
        'deadline: "00:01"',
        'tasks:',
        '  - { id: s, command: [sleep, "60"] }',
        'notify:',
        `  - { url: "${url}", on: [missed] }`,
      ].join('\n'),
    );
    expect((await cli('workflow', 'apply', join(dir, 'slow.yaml'))).code).toBe(0);
    expect((await cli('workflow', 'trigger', 'slow', '--date', tomorrow)).code).toBe(0);
    const run = `slow@${tomorrow}`;
    await waitRun('slow', run, ['running']);
    // The process itself running, as the dry run's blockers name it: the task reads `running`
    // from its job, which starts at the chunk's placement, before the agent has started (or
    // even launched) the process, and the refusal then names a process still `launching`.
    await waitFor('the process running', async () => {
      const r = await json<{ blockers: string[] }>('rerun', run, '--dry-run');
      return r.doc.blockers.some((b) => /process \S+ on \S+ is running/.test(b)) ? true : undefined;
    });
    const refused = await cli('rerun', run, '--yes');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/process \S+ on \S+ is running/);
    expect((await farm.log.read('run', run)).events.map((e) => e.type)).not.toContain(
      'run.rerun_requested',
    );

    // A notifier whose clock reads just past tomorrow's 00:01 UTC: the run has not ended.
    const deadline = Date.parse(`${tomorrow}T00:01:00Z`);
    const started = Date.now();
    const late = newNotifier(() => deadline + 5_000 + (Date.now() - started));
    try {
      await waitFor('missed delivered', async () =>
        received.some((r) => r.key === `${run}:missed` && r.status === 200) ? true : undefined,
      );
    } finally {
      await late.stop();
    }
    const missed = received.find((r) => r.key === `${run}:missed`)!.body;
    expect(missed).toMatchObject({
      workflow: 'slow',
      run,
      event: 'missed',
      at: `${tomorrow}T00:01:00.000Z`,
    });
    expect(missed.text).toContain('MISSED DEADLINE');
    // The first notifier, on real time, owes nothing for it: the deadline is a day away.
    expect(received.filter((r) => r.key === `${run}:missed`).map((r) => r.status)).toEqual([
      503, 200,
    ]);
    expect((await cli('cancel', `slow_${tomorrow}`, '--yes')).code).toBe(0);
  }, 120_000);
});
