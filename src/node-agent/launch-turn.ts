import { chunkBehaviour } from '../actors/index.js';
import { chunkId, eventSubject, type EventLog, type LaunchWork } from '../events/index.js';
import { launchOwned } from './disowned.js';
import type { SlotGate } from './slot-gate.js';
import { launchStillWanted, type WorkerContext } from './workers.js';

/** A launch turned back because the agent stops: unacknowledged, it comes back to its next life. */
export class AgentStopping extends Error {
  constructor(worker: string) {
    super(`agent stopping: launch of ${worker} left for its next life`);
    this.name = 'AgentStopping';
  }
}

/** How often a launch waiting for room tells the work queue it is still being handled. */
const WORKING_EVERY_MS = 20_000;

/**
 * A launch in its turn: wait for room on the node (`SlotGate`), then launch as before. The
 * process of a launch that waited starts only if the log still wants it: its chunk may have been
 * cancelled (or given up with its node) while it waited, and the cancel's kill message may still
 * be on its way. One direct get says whether the chunk moved since the launch was sent; only then
 * is it read again, and `launchWorker` decides on that fresh view (a cancelled chunk is closed
 * as cancelled before it started, which confirms the cancel).
 *
 * A kill that reaches a waiting launch drops it from the line (`SlotGate.drop`): it is decided
 * at once on the fresh view, and if the chunk still wants it (a kill of an older view) it
 * queues again. `working` keeps the work message from being redelivered while it waits.
 */
export async function launchInTurn(
  ctx: WorkerContext,
  deps: { readonly gate: SlotGate; readonly eventLog: EventLog; readonly working: () => void },
  w: LaunchWork,
): Promise<void> {
  const { gate } = deps;
  for (;;) {
    const keepAlive = setInterval(deps.working, WORKING_EVERY_MS);
    const turn = await gate.acquire(w.worker, w.request).finally(() => clearInterval(keepAlive));
    if (turn.kind === 'closed') throw new AgentStopping(w.worker);
    if (turn.kind === 'dropped') {
      await refreshIfMoved(ctx, deps.eventLog, w);
      if (await launchStillWanted(ctx, w)) continue; // the kill of an older view: back in line
    }
    try {
      // The re-read travels beside `worker.launching`: the start's check waits for both.
      const refreshed =
        turn.kind === 'go' && turn.waited ? refreshIfMoved(ctx, deps.eventLog, w) : undefined;
      void refreshed?.catch(() => undefined); // awaited by the launch; never unhandled
      await launchOwned(ctx, w, refreshed);
    } finally {
      // No process (refused, cancelled, handled before): the room goes to the next launch. A
      // process holds it until its exit (`watch`).
      if (!ctx.live.has(w.worker)) gate.release(w.worker);
    }
    return;
  }
}

/** Read the chunk again when the log has moved it since the launch message's view. */
async function refreshIfMoved(ctx: WorkerContext, eventLog: EventLog, w: LaunchWork) {
  const id = chunkId(w.jobId, w.chunk);
  const seq = await eventLog.lastSeqOf('chunk', id);
  const cached = ctx.runtime.peek(chunkBehaviour, id)?.lastSeq ?? w.chunkState.lastSeq;
  if (seq <= Math.max(cached, w.chunkState.lastSeq)) return;
  ctx.runtime.forget(eventSubject('chunk', id));
  await ctx.runtime.load(chunkBehaviour, id);
}
