import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBehaviour,
  createEntityRuntime,
  jobBehaviour,
  stateName,
} from '../../../src/actors/index.js';
import type { Actor } from '../../../src/events/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

const admin: Actor = { kind: 'admin', id: 'ops' };
const cmd = (type: string, data?: object) => ({
  type,
  id: randomUUID(),
  at: Date.now(),
  by: admin,
  ...(data && { data }),
});

/**
 * Processes still alive whose environment names one of `jobIds` and whose report file lies in
 * `dataDir` (job ids repeat across the farms of parallel test files), read straight from /proc.
 */
async function processesOf(dataDir: string, jobIds: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const environ = await readFile(`/proc/${name}/environ`, 'latin1').catch(() => '');
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    if (!environ.includes(`DROVER_REPORT=${dataDir}`)) continue;
    if (jobIds.some((id) => environ.includes(`DROVER_JOB=${id}\0`))) pids.push(Number(name));
  }
  return pids;
}

/**
 * The incident from the field: a simulation cancelled from a GUI and its results cleared while a
 * child still ran, which then wrote its result. Here a clear is refused until every process of
 * the tree is confirmed stopped, and no result is stored after it, however late a child finishes.
 */
describe('cancel then clear', () => {
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2, cpus: 16 });
  }, 30_000);
  afterAll(async () => farm?.stop(), 60_000);

  it('refuses the clear until every process is confirmed stopped; no late result is ever stored', async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log });
    const parent = await farm.submit({
      name: 'sim',
      user: 'alice',
      command: ['sleep', '60'],
      memMb: 16,
    });
    const stubborn =
      'trap \'echo "{\\"result\\":\\"late\\"}" >> "$DROVER_REPORT"; sleep 1; exit 0\' TERM; sleep 60 & wait; sleep 60 & wait';
    const children: string[] = [];
    for (let i = 0; i < 20; i++) {
      const deaf = ['sh', '-c', "trap '' TERM; sleep 60"]; // ignores SIGTERM: only SIGKILL ends it
      const command = i % 4 === 0 ? ['sh', '-c', stubborn] : i % 4 === 1 ? deaf : ['sleep', '60'];
      children.push(
        await farm.submit({
          name: `child-${i}`,
          user: 'alice',
          parent,
          command,
          cpus: 0.1,
          memMb: 16,
        }),
      );
    }
    for (const id of [parent, ...children]) await farm.waitFor(id, ['running'], 30_000);
    // Let every chunk be started so each child has a live process to stop.
    const deadline = Date.now() + 20_000;
    while (
      (await processesOf(farm.dataDir, [parent, ...children])).length < 21 &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));

    const cancel = await runtime.execute(
      jobBehaviour,
      parent,
      cmd('RequestCancel', { reason: 'operator cancelled from the GUI' }) as never,
    );
    expect(cancel.ok).toBe(true);
    const early = await runtime.execute(jobBehaviour, parent, cmd('ClearResults') as never);
    expect(early.ok).toBe(false);

    const cancelled = await farm.waitFor(parent, ['cancelled', 'succeeded', 'failed'], 60_000);
    expect(stateName(cancelled)).toBe('cancelled');
    for (const id of children) expect(stateName(await farm.job(id))).toBe('cancelled');
    expect(await processesOf(farm.dataDir, [parent, ...children])).toEqual([]);

    const clear = await runtime.execute(jobBehaviour, parent, cmd('ClearResults') as never);
    expect(clear.ok).toBe(true);
    // A result from an old attempt arriving now is refused and audited, never stored.
    const late = await runtime.execute(chunkBehaviour, `${children[0]}:0`, {
      ...cmd('ReportResult', { attempt: 1, result: 'late' }),
      by: { kind: 'agent', id: 'node-1' },
    } as never);
    expect(late.ok).toBe(false);
    const childChunk = await farm.events('chunk', `${children[0]}:0`);
    expect(childChunk.some((e) => e.type === 'chunk.result_rejected')).toBe(true);
    for (const id of [parent, ...children]) {
      const events = await farm.events('chunk', `${id}:0`);
      expect(
        events.some((e) => e.type === 'chunk.succeeded'),
        `${id} stored a result`,
      ).toBe(false);
    }
    const parentEvents = await farm.events('job', parent);
    const rejected = parentEvents.find((e) => e.type === 'job.command_rejected');
    const cancelledAt = parentEvents.findIndex((e) => e.type === 'job.cancelled');
    const clearedAt = parentEvents.findIndex((e) => e.type === 'job.results_cleared');
    expect(rejected?.data).toMatchObject({ command: 'ClearResults' });
    expect(clearedAt).toBeGreaterThan(cancelledAt);
  }, 120_000);
});
