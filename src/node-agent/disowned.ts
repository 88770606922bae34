import { chunkBehaviour, stateName, workerBehaviour, type ChunkSnapshot } from '../actors/index.js';
import { chunkId, eventSubject, type LaunchWork } from '../events/index.js';
import type { KillReason } from './supervisor/index.js';
import type { WorkerRecord } from './worker-records.js';
import { launchWorker, metaOf, type WorkerContext } from './workers.js';

/** The states in which a chunk still wants the process of its current attempt. */
const LIVE_CHUNK = ['assigned', 'running', 'cancelling'];

/**
 * What the log asks of the process of `attempt`, given its chunk: a cancel's stop while the
 * chunk is cancelling that attempt (only a cancel's confirmation ends a cancelling chunk); else
 * nothing while the attempt is the chunk's live one, unless `givenUp` (its node was declared lost
 * after it was assigned: its failure is on the way, see loss-fence.ts); otherwise ('terminate')
 * the log gave the attempt up (its node or worker was declared lost, it was retried elsewhere,
 * the chunk ended) and its result would be refused anyway. Pure.
 */
export function stopFor(
  chunk: ChunkSnapshot,
  attempt: number,
  givenUp = false,
): KillReason | undefined {
  const state = stateName(chunk);
  const live = chunk.context.attempt === attempt && LIVE_CHUNK.includes(state);
  if (live && state === 'cancelling') return 'cancel';
  return live && !givenUp ? undefined : 'terminate';
}

/** The chunk of `record` as the log has it now (not the agent's cached view). */
async function freshChunk(ctx: WorkerContext, record: WorkerRecord): Promise<ChunkSnapshot> {
  const id = chunkId(record.jobId, record.chunk);
  ctx.runtime.forget(eventSubject('chunk', id));
  ctx.runtime.forget(eventSubject('worker', record.workerId));
  return (await ctx.runtime.load(chunkBehaviour, id)).state;
}

/**
 * Stop (SIGTERM, grace, SIGKILL) the running process of `workerId` if the log no longer gives
 * its attempt to this agent (`stopFor`, with the loss fence); its end is recorded by `watch` as
 * the machines allow (the worker's end, and `chunk.process_stopped` for an attempt failed
 * unconfirmed). A worker the log marked lost while its attempt is still the chunk's live one
 * (and no loss gave it up) is re-adopted instead. Returns why it was stopped, if it was.
 */
export async function stopIfDisowned(
  ctx: WorkerContext,
  workerId: string,
): Promise<KillReason | undefined> {
  const reason = await ctx.queue.run(workerId, async () => {
    const live = ctx.live.get(workerId);
    if (!live) return undefined; // ended meanwhile
    const { record } = live;
    const why = stopFor(
      await freshChunk(ctx, record),
      record.attempt,
      ctx.fence.givesUp(record.assignedSeq),
    );
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
  if (reason === undefined || !live) return undefined;
  ctx.logger.warn(
    { worker: workerId, attempt: live.record.attempt, reason },
    'stopping a disowned process',
  );
  void live.supervised.kill(reason);
  return reason;
}

/**
 * `stopIfDisowned` for every process running now. Returns the worker ids stopped. Raise the
 * loss fence first: a launch that enters `live` after this call's snapshot checks the fence
 * itself (`launchWorker`), one that entered before is in the snapshot.
 */
export async function stopDisowned(ctx: WorkerContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const workerId of [...ctx.live.keys()])
    if (await stopIfDisowned(ctx, workerId)) stopped.push(workerId);
  return stopped;
}

/**
 * `launchWorker`, then the log's fresh word on the process when it may have been given up: its
 * chunk refused the start (the launch message's view of it was old), or a loss of the node
 * known by now came after its assignment. Checked after the process is in `live`, so a resync
 * that raised the fence either finds it there or is seen here.
 */
export async function launchOwned(
  ctx: WorkerContext,
  w: LaunchWork,
  refreshed?: Promise<void>,
): Promise<void> {
  const taken = await launchWorker(ctx, w, refreshed);
  if (ctx.live.has(w.worker) && (!taken || ctx.fence.givesUp(w.chunkState.lastSeq)))
    await stopIfDisowned(ctx, w.worker);
}
