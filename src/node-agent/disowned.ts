import { chunkBehaviour, stateName, workerBehaviour, type ChunkSnapshot } from '../actors/index.js';
import { chunkId, eventSubject } from '../events/index.js';
import type { KillReason } from './supervisor/index.js';
import type { WorkerRecord } from './worker-records.js';
import { metaOf, type WorkerContext } from './workers.js';

/** The states in which a chunk still wants the process of its current attempt. */
const LIVE_CHUNK = ['assigned', 'running', 'cancelling'];

/**
 * What the log asks of the process of `attempt`, given its chunk: nothing while the attempt is
 * the chunk's live one; a cancel's stop while it is cancelling; otherwise ('terminate') the log
 * gave the attempt up (its node or worker was declared lost, it was retried elsewhere, the chunk
 * ended) and its result would be refused anyway. Pure.
 */
export function stopFor(chunk: ChunkSnapshot, attempt: number): KillReason | undefined {
  const state = stateName(chunk);
  if (chunk.context.attempt !== attempt || !LIVE_CHUNK.includes(state)) return 'terminate';
  return state === 'cancelling' ? 'cancel' : undefined;
}

/** The chunk of `record` as the log has it now (not the agent's cached view). */
async function freshChunk(ctx: WorkerContext, record: WorkerRecord): Promise<ChunkSnapshot> {
  const id = chunkId(record.jobId, record.chunk);
  ctx.runtime.forget(eventSubject('chunk', id));
  ctx.runtime.forget(eventSubject('worker', record.workerId));
  return (await ctx.runtime.load(chunkBehaviour, id)).state;
}

/**
 * Stop (SIGTERM, grace, SIGKILL) every running process whose attempt the log no longer gives
 * this agent; their ends are recorded by `watch` as the machines allow (the worker's end, and
 * `chunk.process_stopped` for an attempt failed unconfirmed). A worker the log marked lost while
 * its attempt is still the chunk's live one is re-adopted instead. Returns the worker ids stopped.
 */
export async function stopDisowned(ctx: WorkerContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const [workerId, { record }] of [...ctx.live]) {
    const reason = await ctx.queue.run(workerId, async () => {
      if (!ctx.live.has(workerId)) return undefined; // ended meanwhile
      const why = stopFor(await freshChunk(ctx, record), record.attempt);
      const worker = await ctx.runtime.load(workerBehaviour, workerId);
      if (why === undefined && stateName(worker.state) === 'lost')
        await ctx.runtime.execute(workerBehaviour, workerId, {
          type: 'ReadoptWorker',
          ...metaOf(ctx, workerId, `readopted@${ctx.clock()}`),
          data: { pid: record.pid ?? 0 },
        });
      return why;
    });
    const live = ctx.live.get(workerId);
    if (reason === undefined || !live) continue;
    ctx.logger.warn(
      { worker: workerId, attempt: record.attempt, reason },
      'stopping a disowned process',
    );
    void live.supervised.kill(reason);
    stopped.push(workerId);
  }
  return stopped;
}
