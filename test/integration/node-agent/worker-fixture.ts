import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  chunkBehaviour,
  createEntityRuntime,
  createKeyedQueue,
  type ChunkCommand,
} from '../../../src/actors/index.js';
import {
  chunkId,
  workerId,
  type Actor,
  type EventLog,
  type LaunchWork,
} from '../../../src/events/index.js';
import { createLossFence } from '../../../src/node-agent/loss-fence.js';
import { workerRecords } from '../../../src/node-agent/worker-records.js';
import type { WorkerContext } from '../../../src/node-agent/workers.js';
import { launchWork } from '../../../src/scheduler/work-messages.js';
import { jobSpec, uid } from '../../support/events.js';
import { quietLogger } from '../../support/farm.js';

const scheduler: Actor = { kind: 'scheduler', id: 's1', epoch: 1 };
const request = { cpus: 1, memMb: 64, gpus: 0 };

/** A one-chunk job's chunk created and assigned to attempt 1 on node n1, and its launch message. */
export async function assignedLaunch(
  log: EventLog,
  command: string[],
): Promise<{ jobId: string; chunk: string; worker: string; work: LaunchWork }> {
  const jobId = uid('j');
  const chunk = chunkId(jobId, 0);
  const worker = workerId(jobId, 0, 1);
  const sched = createEntityRuntime({ eventLog: log, cache: true });
  const run = (c: ChunkCommand) => sched.execute(chunkBehaviour, chunk, c);
  const meta = () => ({ id: randomUUID(), at: Date.now(), by: scheduler });
  await run({ ...meta(), type: 'CreateChunk', data: { jobId, index: 0, total: 1 } });
  const assigned = await run({
    ...meta(),
    type: 'AssignChunk',
    data: { attempt: 1, node: 'n1', worker, request },
  });
  if (!assigned.ok) throw new Error(`AssignChunk refused: ${JSON.stringify(assigned)}`);
  const work = launchWork(jobSpec({ command }), assigned.state, assigned.lastSeq, 'n1', request);
  return { jobId, chunk, worker, work };
}

/** An agent's worker half on `stateDir` with a runtime of its own (an empty cache: a new life). */
export function agentContext(
  log: EventLog,
  stateDir: string,
  over: Partial<WorkerContext> = {},
): WorkerContext {
  return {
    node: 'n1',
    by: { kind: 'agent', id: 'n1' },
    runtime: createEntityRuntime({ eventLog: log, cache: true }),
    records: workerRecords(join(stateDir, 'state')),
    queue: createKeyedQueue(),
    live: new Map(),
    fence: createLossFence(),
    stateDir,
    clock: Date.now,
    logger: quietLogger,
    sampleMs: 1000,
    sampleLogMs: 5000,
    ...over,
  };
}
