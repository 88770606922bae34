import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkBehaviour, createEntityRuntime, stateName } from '../../../src/actors/index.js';
import { launchWorker, type WorkerContext } from '../../../src/node-agent/workers.js';
import { useEventLog } from '../../support/nats-client.js';
import { agentContext, assignedLaunch } from './worker-fixture.js';

const farm = useEventLog({ beforeAll, afterAll });

/** Until the context's workers are all ended and recorded (the bound only stops a hang). */
async function settled(ctx: WorkerContext): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (ctx.live.size > 0 || ctx.queue.size > 0) {
    if (Date.now() > deadline) throw new Error('workers did not settle');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The agent seeds a launch's new worker as empty instead of reading its subject (issue 22: one
 * round trip fewer before the fork). A launch delivered again after its worker ran (the work
 * queue's redelivery, a republish after a takeover) must still start nothing: the seed's
 * expected sequence 0 conflicts, the runtime reads the worker and finds it past launching.
 */
describe('a launch delivered again to an agent that no longer caches its worker', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'drover-relaunch-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts no second process, and the chunk succeeds once', async () => {
    const { chunk: id, worker, work } = await assignedLaunch(farm.log, ['true']);

    const first = agentContext(farm.log, stateDir, { agentVersion: '0.0.0-test' });
    expect(await launchWorker(first, work)).toBe(true);
    await settled(first);

    // The same launch again, to an agent whose cache holds nothing of it.
    const again = agentContext(farm.log, stateDir, { agentVersion: '0.0.0-test' });
    expect(await launchWorker(again, work)).toBe(false);
    expect(again.live.size).toBe(0);
    await settled(again);

    const workerEvents = (await farm.log.read('worker', worker)).events.map((e) => e.type);
    expect(workerEvents.filter((t) => t === 'worker.launching')).toHaveLength(1);
    expect(workerEvents.filter((t) => t === 'worker.started')).toHaveLength(1);
    expect(workerEvents.filter((t) => t === 'worker.exited')).toHaveLength(1);
    const chunkEvents = (await farm.log.read('chunk', id)).events.map((e) => e.type);
    expect(chunkEvents.filter((t) => t === 'chunk.started')).toHaveLength(1);
    expect(chunkEvents.filter((t) => t === 'chunk.succeeded')).toHaveLength(1);
    const fresh = createEntityRuntime({ eventLog: farm.log });
    expect(stateName((await fresh.load(chunkBehaviour, id)).state)).toBe('succeeded');
    // The first life's record was removed after its end; the second wrote none.
    const left = await readdir(join(stateDir, 'state', 'workers')).catch(() => []);
    expect(left.filter((n) => n.endsWith('.json'))).toEqual([]);
  });
});
