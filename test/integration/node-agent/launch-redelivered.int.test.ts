import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBehaviour,
  createEntityRuntime,
  createKeyedQueue,
  stateName,
  type ChunkCommand,
} from '../../../src/actors/index.js';
import { chunkId, workerId, type Actor, type JobSpec } from '../../../src/events/index.js';
import { createLossFence } from '../../../src/node-agent/loss-fence.js';
import { workerRecords } from '../../../src/node-agent/worker-records.js';
import { launchWorker, type WorkerContext } from '../../../src/node-agent/workers.js';
import { launchWork } from '../../../src/scheduler/work-messages.js';
import { jobSpec, uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';
import { useEventLog } from '../../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const scheduler: Actor = { kind: 'scheduler', id: 's1', epoch: 1 };

/** An agent's worker half on `stateDir` with a runtime of its own (an empty cache: a new life). */
function agentContext(stateDir: string): WorkerContext {
  return {
    node: 'n1',
    by: { kind: 'agent', id: 'n1' },
    runtime: createEntityRuntime({ eventLog: farm.log, cache: true }),
    records: workerRecords(join(stateDir, 'state')),
    queue: createKeyedQueue(),
    live: new Map(),
    fence: createLossFence(),
    stateDir,
    clock: Date.now,
    logger: quietLogger,
    sampleMs: 1000,
    sampleLogMs: 5000,
    agentVersion: '0.0.0-test',
  };
}

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
    const jobId = uid('j');
    const id = chunkId(jobId, 0);
    const worker = workerId(jobId, 0, 1);
    const request = { cpus: 1, memMb: 64, gpus: 0 };
    const sched = createEntityRuntime({ eventLog: farm.log, cache: true });
    const run = (data: ChunkCommand) => sched.execute(chunkBehaviour, id, data);
    const meta = () => ({ id: randomUUID(), at: Date.now(), by: scheduler });
    await run({ ...meta(), type: 'CreateChunk', data: { jobId, index: 0, total: 1 } });
    const assigned = await run({
      ...meta(),
      type: 'AssignChunk',
      data: { attempt: 1, node: 'n1', worker, request },
    });
    expect(assigned.ok).toBe(true);
    const spec: JobSpec = jobSpec({ command: ['true'] });
    const work = launchWork(spec, assigned.state, assigned.lastSeq, 'n1', request);

    const first = agentContext(stateDir);
    expect(await launchWorker(first, work)).toBe(true);
    await settled(first);

    // The same launch again, to an agent whose cache holds nothing of it.
    const again = agentContext(stateDir);
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
