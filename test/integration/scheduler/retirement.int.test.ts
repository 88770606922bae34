import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** N short jobs through the intake, every third in two chunks; resolves with their ids. */
async function runJobs(farm: Farm, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push(
      await farm.submit({
        name: 'short',
        user: ['alice', 'bob'][i % 2],
        command: ['true'],
        cpus: 0.25,
        memMb: 16,
        ...(i % 3 === 2 && { chunks: 2 }),
      }),
    );
  for (const id of ids)
    expect(stateName(await farm.waitFor(id, undefined, 90_000))).toBe('succeeded');
  return ids;
}

/** Polls until the scheduler holds no job and at most `max` entities; the last count seen. */
async function settlesTo(farm: Farm, max: number, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const held = farm.scheduler!.held();
    if ((held.jobs === 0 && held.entities <= max) || Date.now() > deadline) return held.entities;
    await sleep(100);
  }
}

/**
 * Issue 23 point 7: a scheduler under a steady load of short jobs held every job, chunk and
 * worker it ever folded (RSS rising ~100 MB/h in the soak). Finished jobs now leave its memory
 * (`Retirement`), and whatever comes later about them is read back from the log: the rules
 * that keep the log right (a late result refused and audited, a clear that clears the chunks, a
 * dependency on an old job) hold for jobs let go of.
 */
describe('the scheduler lets go of finished jobs', () => {
  let farm: Farm;
  let floor: number;
  beforeAll(async () => {
    farm = await startFarm({ agents: 2, cpus: 8, retireAfterMs: 300 });
    // Nodes, and nothing of any job yet.
    floor = farm.scheduler!.held().entities;
  }, 60_000);
  afterAll(async () => farm?.stop(), 60_000);

  it('holds a bounded number of entities after N jobs, not a number proportional to N', async () => {
    const ids = await runJobs(farm, 45);
    // 45 jobs are 45 jobs, 60 chunks and 60 workers: 165 entities held without retirement.
    expect(await settlesTo(farm, floor + 4)).toBeLessThanOrEqual(floor + 4);
    expect(farm.scheduler!.held().jobs).toBe(0);
    expect(farm.scheduler!.held().retiring).toBe(0);
    // And they are still what the log says they are.
    expect(stateName(await farm.job(ids[0]!))).toBe('succeeded');
  }, 180_000);

  it('still refuses and audits a late result of a job let go of, and lets it go again', async () => {
    const [id] = await runJobs(farm, 1);
    await settlesTo(farm, floor + 4);
    expect(farm.scheduler!.held().jobs).toBe(0);
    const agentRuntime = createEntityRuntime({ eventLog: farm.log });
    const late = await agentRuntime.execute(chunkBehaviour, `${id}:0`, {
      ...cmd('ReportResult', { attempt: 1, result: 'late' }),
      by: { kind: 'agent', id: 'node-1' },
    } as never);
    expect(late.ok).toBe(false);
    expect(!late.ok && late.rejection.code).toBe('StaleResult');
    const events = await farm.events('chunk', `${id}:0`);
    expect(events.filter((e) => e.type === 'chunk.succeeded')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('chunk.result_rejected');
    // The audit brought the job back from the log (a read), then it leaves again.
    expect(await settlesTo(farm, floor + 4)).toBeLessThanOrEqual(floor + 4);
  }, 120_000);

  it('clears the chunks of a job let go of when its results are cleared', async () => {
    const ids = await runJobs(farm, 3);
    const id = ids[2]!; // two chunks
    await settlesTo(farm, floor + 4);
    expect(farm.scheduler!.held().jobs).toBe(0);
    const api = createEntityRuntime({ eventLog: farm.log });
    expect((await api.execute(jobBehaviour, id, cmd('ClearResults') as never)).ok).toBe(true);
    // The scheduler's rule clears each chunk's results: it needs the job and its chunks back.
    const deadline = Date.now() + 30_000;
    let cleared = 0;
    while (cleared < 2 && Date.now() < deadline) {
      await sleep(100);
      cleared = 0;
      for (const i of [0, 1]) {
        const evs = await farm.events('chunk', `${id}:${i}`);
        if (evs.some((e) => e.type === 'chunk.results_cleared')) cleared++;
      }
    }
    expect(cleared).toBe(2);
  }, 120_000);

  it('takes a job that runs after a job let go of, and runs it', async () => {
    const [old] = await runJobs(farm, 1);
    await settlesTo(farm, floor + 4);
    expect(farm.scheduler!.held().jobs).toBe(0);
    const next = await farm.submit({
      name: 'after-old',
      user: 'alice',
      command: ['true'],
      memMb: 16,
      after: [old],
    });
    expect(stateName(await farm.waitFor(next, undefined, 60_000))).toBe('succeeded');
  }, 120_000);
});
