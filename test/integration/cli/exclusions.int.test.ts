import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { createApiClient, policyClient } from '../../../src/api/index.js';
import type { SchedulerError } from '../../../src/events/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

type Explain = { pending?: { code: string; message: string }[] };

/** `drover exclusions` on a real farm: a user's jobs never go to an excluded node. */
describe('standing exclusions (real nats-server, scheduler, two agents, CLI session)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  let dir: string;
  const cli = (...args: string[]) => session.run(args, { DROVER_USER: 'ada' });
  const json = async <T>(...args: string[]) => {
    const r = await cli(...args, '--json');
    return { ...r, doc: JSON.parse(r.stdout || 'null') as T };
  };
  /** The nodes the chunks of `job` were assigned to, from the log. */
  const nodesOf = async (job: string, chunks: number) => {
    const out: string[] = [];
    for (let i = 0; i < chunks; i++)
      for (const e of (await farm.log.read('chunk', `${job}:${i}`)).events)
        if (e.type === 'chunk.assigned') out.push(e.data.node);
    return out;
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2, cpus: 1 });
    session = cliSession(farm.server.url);
    dir = await mkdtemp(join(tmpdir(), 'drover-excl-'));
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('keeps a user off an excluded node, says Excluded, and lets go on remove', async () => {
    expect((await cli('exclusions', 'add', '--user', 'dana')).code).toBe(2);
    const asDana = policyClient(createApiClient(farm.nc, { as: 'dana' }));
    const refused = await asDana.exclusion('remove', 'dana', 'node-1').catch((e: unknown) => e);
    expect((refused as SchedulerError).code).toBe('FORBIDDEN');
    const add = await json(
      'exclusions',
      'add',
      '--user',
      'dana',
      '--node',
      'node-1',
      '--reason',
      'bad disk',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.doc).toEqual({ user: 'dana', node: 'node-1', version: 1, changed: true });
    expect((await json('exclusions', 'list')).doc).toEqual([{ user: 'dana', node: 'node-1' }]);

    const gate = join(dir, 'go');
    const job = await farm.submit({
      name: 'dana-two',
      user: 'dana',
      command: ['sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.05; done`],
      cpus: 1,
      memMb: 64,
      chunks: 2,
    });
    await farm.waitFor(job, ['running']);
    const deadline = Date.now() + 30_000;
    let excluded: { message: string } | undefined;
    while (!excluded) {
      const r = await json<Explain>('explain', job);
      excluded = r.doc?.pending?.find((p) => p.code === 'Excluded');
      if (!excluded && Date.now() > deadline) throw new Error(`no Excluded: ${r.stdout}`);
      if (!excluded) await sleep(200);
    }
    expect(excluded.message).toMatch(/excluded \(node-1\)/);
    expect(await nodesOf(job, 2)).toEqual(['node-2']); // node-1 is free and still unused

    expect((await cli('exclusions', 'remove', '--user', 'dana', '--node', 'node-1')).code).toBe(0);
    while ((await nodesOf(job, 2)).length < 2) {
      if (Date.now() > deadline + 30_000) throw new Error('not placed after the remove');
      await sleep(100);
    }
    expect((await nodesOf(job, 2)).sort()).toEqual(['node-1', 'node-2']);
    await writeFile(gate, '');
    expect(stateName(await farm.waitFor(job))).toBe('succeeded');
  }, 120_000);
});
