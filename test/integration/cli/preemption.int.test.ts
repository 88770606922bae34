import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../../src/api/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

interface Row {
  jobId: string;
  state: string;
  proof: { acceptedSeq: number; startedSeq?: number; preempted: string[] };
}

/**
 * A process that checkpoints, then runs until stopped: on SIGTERM it writes a marker and exits
 * 143; started again with a checkpoint it records where it resumed from and succeeds.
 */
const SCRIPT = `#!/bin/sh
dir="$1"
echo "$DROVER_ATTEMPT:$DROVER_CHECKPOINT" >> "$dir/$DROVER_JOB.starts"
if [ -n "$DROVER_CHECKPOINT" ]; then exit 0; fi
trap 'echo term > "$dir/$DROVER_JOB.term"; exit 143' TERM
echo '{"checkpoint":"step-3","progress":0.3}' >> "$DROVER_REPORT"
while :; do sleep 0.2; done
`;

/**
 * A start-by promise kept through preemption on a real farm (nats-server, scheduler, one agent
 * of 2 cpus running real processes, the API, CLI processes): bob's two jobs without time limits
 * hold both cpus; ada's promise is admitted because the guards let one of them be stopped; the
 * scheduler stops one (its process receives SIGTERM and writes its marker), the chunk is
 * requeued with the cause Preempted without spending a retry (it has none), and resumes from its
 * checkpoint after ada's job; the promise reads kept with preempted [victim].
 */
describe('preemption keeps a start-by promise (real farm)', () => {
  let farm: ApiFarm;
  let dir: string;
  let api: ApiClient;
  // The real CLI's one-shot commands, answered by long-lived CLI processes (cli-session.ts): the
  // poll of `drover promises` would otherwise start a CLI process every 250 ms.
  let session: CliSession;
  const as =
    (user: string) =>
    (...args: string[]) =>
      session.run(args, { DROVER_USER: user });
  const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;
  const until = async <T>(what: string, f: () => Promise<T | undefined>, ms = 120_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-preempt-'));
    await writeFile(join(dir, 'work.sh'), SCRIPT);
    await chmod(join(dir, 'work.sh'), 0o755);
    farm = await startApiFarm({ agents: 1, cpus: 2, preemption: { leadMs: 15_000 } });
    api = createApiClient(farm.nc);
    session = cliSession(farm.server.url, [{ DROVER_USER: 'bob' }, { DROVER_USER: 'ada' }]);
  }, 120_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stops a job of the user over its share with SIGTERM, requeues it Preempted, resumes it from its checkpoint', async () => {
    const bob = as('bob');
    const ada = as('ada');
    const victims: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await bob(
        'submit',
        '--json',
        '--cpus',
        '1',
        '--retries',
        '0',
        '--',
        join(dir, 'work.sh'),
        dir,
      );
      expect(r.code, r.stderr).toBe(0);
      victims.push(json<{ jobId: string }>(r).jobId);
    }
    type Shown = {
      state: string;
      chunks: { checkpoint?: string; attempts: { cause?: string }[] }[];
    };
    // Polled through the API client (a CLI process per poll is slow on a busy machine).
    const show = async (id: string) => (await api.job(id, { chunks: true })) as unknown as Shown;
    for (const id of victims)
      await until(`${id} checkpointed`, async () =>
        (await show(id)).chunks[0]?.checkpoint === 'step-3' ? true : undefined,
      );

    const r = await ada(
      'submit',
      '--json',
      '--cpus',
      '1',
      '--timeout',
      '60',
      '--start-by',
      '+25s',
      '--',
      'sleep',
      '3',
    );
    expect(r.code, r.stderr).toBe(0);
    const promised = json<{ jobId: string; promise: { accepted: boolean } }>(r);
    expect(promised.promise.accepted).toBe(true);

    await until('promised job started', async () =>
      ['running', 'succeeded'].includes((await show(promised.jobId)).state) ? true : undefined,
    );
    const kept = await until('promise kept', async () =>
      json<Row[]>(await ada('promises', '--json')).find(
        (p) => p.jobId === promised.jobId && p.state === 'kept',
      ),
    );
    expect(kept.proof.preempted).toHaveLength(1);
    const victim = kept.proof.preempted[0]!;
    expect(victims).toContain(victim);
    const spared = victims.find((v) => v !== victim)!;

    // The real process got SIGTERM (its trap wrote the marker); the other was left alone.
    expect((await readFile(join(dir, `${victim}.term`), 'utf8')).trim()).toBe('term');
    await expect(readFile(join(dir, `${spared}.term`), 'utf8')).rejects.toThrow();

    // Requeued Preempted without spending a retry (it has none) and resumed from its checkpoint.
    const done = await until('victim succeeded', async () => {
      const s = await show(victim);
      return s.state === 'succeeded' ? s : undefined;
    });
    expect(done.chunks[0]?.attempts.map((a) => a.cause)).toEqual(['Preempted', 'Succeeded']);
    const starts = (await readFile(join(dir, `${victim}.starts`), 'utf8')).trim().split('\n');
    expect(starts).toEqual(['1:', '2:step-3']);

    // The log says why, before the stop: promise.preempted names the victim.
    const audit = json<{ seq: number; type: string }[]>(
      await ada('audit', promised.jobId, '--json'),
    );
    const pre = audit.find((e) => e.type === 'promise.preempted');
    expect(pre).toBeDefined();
    expect(pre!.seq).toBeLessThan(kept.proof.startedSeq!);

    expect((await bob('cancel', spared, '--yes')).code).toBe(0);
    await farm.waitFor(spared, undefined, 60_000);
    await farm.waitFor(promised.jobId, undefined, 60_000);
  }, 180_000);
});
