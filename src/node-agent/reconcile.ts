import { chunkBehaviour, stateName, workerBehaviour } from '../actors/index.js';
import { chunkId } from '../events/index.js';
import {
  classifyExit,
  outcomeMessage,
  readExitStatus,
  readopt,
  type AdoptionRecord,
  type ProcessOutcome,
} from './supervisor/index.js';
import { stopFor } from './disowned.js';
import type { WorkerRecord } from './worker-records.js';
import { finish, hooksFor, lastResult, metaOf, watch, type WorkerContext } from './workers.js';

/** What reconciliation did with each worker of the agent's previous life (for logs and tests). */
export interface Reconciled {
  readonly readopted: string[];
  readonly finished: string[];
  readonly lost: string[];
}

/**
 * After a crash or reboot: every worker the previous life of this agent recorded is re-adopted
 * when its process still runs, closed with its real exit status when it ended meanwhile (the
 * wrapper wrote it), or reported lost (`AgentRestarted`) so its chunk is retried. Each outcome is
 * an event, so the audit trail says which. A re-adopted process whose attempt the chunk gave up
 * (failed as its node was lost, moved on to another attempt, ended) is stopped: its results
 * would be refused anyway; one whose chunk is being cancelled is stopped as a cancel.
 */
export async function reconcile(ctx: WorkerContext): Promise<Reconciled> {
  const done: Reconciled = { readopted: [], finished: [], lost: [] };
  for (const record of await ctx.records.all()) {
    const worker = await ctx.runtime.load(workerBehaviour, record.workerId);
    const state = stateName(worker.state);
    if (state === 'none' || state === 'exited' || state === 'killed') {
      await ctx.records.remove(record.workerId);
      continue;
    }
    const adopted = record.pid
      ? await readopt(record as AdoptionRecord, hooksFor(ctx, record), {
          sampleMs: ctx.sampleMs,
        })
      : undefined;
    if (adopted) {
      await readopted(ctx, record, adopted.pid, adopted.pgid, state);
      watch(ctx, record, adopted);
      done.readopted.push(record.workerId);
      const chunk = await ctx.runtime.load(chunkBehaviour, chunkId(record.jobId, record.chunk));
      const stop = stopFor(chunk.state, record.attempt);
      if (stop) void adopted.kill(stop);
      continue;
    }
    const status = await readExitStatus(record.runDir);
    const peak = worker.state.context.peakRssMb;
    if (status !== undefined) {
      await finish(ctx, record, await endedMeanwhile(record, status, peak));
      done.finished.push(record.workerId);
      continue;
    }
    await ctx.queue.run(record.workerId, () =>
      ctx.runtime.execute(workerBehaviour, record.workerId, {
        type: 'MarkLost',
        ...metaOf(ctx, record.workerId, 'lost-on-restart'),
        data: { cause: 'AgentRestarted', reason: 'the agent restarted and the process was gone' },
      }),
    );
    await finish(ctx, record, {
      exitCode: null,
      signal: null,
      cause: 'AgentRestarted',
      peakRssMb: peak,
      cpuSeconds: worker.state.context.cpuSeconds,
      wallSeconds: 0,
      message: 'the agent restarted and the process was gone (no exit status recorded)',
    });
    done.lost.push(record.workerId);
  }
  return done;
}

async function readopted(
  ctx: WorkerContext,
  record: WorkerRecord,
  pid: number,
  pgid: number,
  state: string,
): Promise<void> {
  const { workerId } = record;
  await ctx.queue.run(workerId, async () => {
    if (state === 'launching') {
      await ctx.runtime.execute(workerBehaviour, workerId, {
        type: 'ReportStarted',
        ...metaOf(ctx, workerId, 'started'),
        data: { pid, pgid },
      });
      await ctx.runtime.execute(chunkBehaviour, chunkId(record.jobId, record.chunk), {
        type: 'StartChunk',
        ...metaOf(ctx, workerId, 'chunk-started'),
        data: { attempt: record.attempt, pid },
      });
      return;
    }
    await ctx.runtime.execute(workerBehaviour, workerId, {
      type: 'ReadoptWorker',
      ...metaOf(ctx, workerId, `readopted@${ctx.clock()}`),
      data: { pid },
    });
  });
}

/** The outcome of a process that ended while its agent was down, from its status file. */
async function endedMeanwhile(
  record: WorkerRecord,
  status: number,
  peakRssMb: number,
): Promise<ProcessOutcome> {
  const facts = { exitCode: status, signal: null };
  const cause = classifyExit(facts);
  const wallSeconds = 0;
  const message = outcomeMessage({ ...facts, memLimitMb: record.memLimitMb, peakRssMb });
  const result = cause === 'Succeeded' ? await lastResult(record.runDir) : undefined;
  return {
    ...facts,
    cause,
    peakRssMb,
    cpuSeconds: 0,
    wallSeconds,
    message: `${message} (ended while the agent was down)`,
    ...(result !== undefined && { result }),
  };
}
