import { chunkBehaviour, stateName, workerBehaviour } from '../actors/index.js';
import { chunkId } from '../events/index.js';
import {
  classifyExit,
  findRunLeader,
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
    const adoption = await adoptionOf(ctx, record);
    const adopted = adoption
      ? await readopt(adoption, hooksFor(ctx, adoption), { sampleMs: ctx.sampleMs })
      : undefined;
    if (adoption && adopted) {
      await readopted(ctx, adoption, adopted.pid, adopted.pgid, state);
      watch(ctx, adoption, adopted);
      done.readopted.push(record.workerId);
      const chunk = await ctx.runtime.load(chunkBehaviour, chunkId(record.jobId, record.chunk));
      const stop = stopFor(chunk.state, record.attempt, ctx.fence.givesUp(record.assignedSeq));
      if (stop) void adopted.kill(stop);
      continue;
    }
    const status = await readExitStatus(record.runDir);
    const peak = worker.state.context.peakRssMb;
    // Ended while the agent was down. Its chunk takes a result only once started: a process
    // whose start never reached the log (the agent was killed between launching it and
    // reporting it) has it reported first, with the pid its record kept. Without one it cannot
    // be, and its chunk would refuse the result and stay assigned for ever (the chaos run,
    // issue 23): it is lost then, and run again like any attempt the agent's restart lost.
    const unstarted = state === 'launching';
    if (status !== undefined && !(unstarted && !record.pid)) {
      if (unstarted) await readopted(ctx, record, record.pid!, record.pid!, state);
      await finish(ctx, record, await endedMeanwhile(record, status, peak));
      done.finished.push(record.workerId);
      continue;
    }
    const reason =
      status === undefined
        ? 'the agent restarted and the process was gone'
        : 'the process ended while the agent was down, before its start was recorded';
    await ctx.queue.run(record.workerId, () =>
      ctx.runtime.execute(workerBehaviour, record.workerId, {
        type: 'MarkLost',
        ...metaOf(ctx, record.workerId, 'lost-on-restart'),
        data: { cause: 'AgentRestarted', reason },
      }),
    );
    await finish(ctx, record, {
      exitCode: null,
      signal: null,
      cause: 'AgentRestarted',
      peakRssMb: peak,
      cpuSeconds: worker.state.context.cpuSeconds,
      wallSeconds: 0,
      message:
        status === undefined
          ? 'the agent restarted and the process was gone (no exit status recorded)'
          : `${reason} (no pid recorded): run again`,
    });
    done.lost.push(record.workerId);
  }
  return done;
}

/**
 * What re-adoption needs of a record: as saved once its pid was known, or, for one saved before
 * (the agent was killed between starting the process and recording its pid), the run's wrapper
 * found in /proc, saved now. Its time limit then counts from now: the start was not recorded.
 */
async function adoptionOf(
  ctx: WorkerContext,
  record: WorkerRecord,
): Promise<(WorkerRecord & AdoptionRecord) | undefined> {
  if (record.pid) return record as WorkerRecord & AdoptionRecord;
  const leader = await findRunLeader(record.runDir);
  if (!leader) return undefined;
  const found = { ...record, ...leader, startedAt: ctx.clock() };
  await ctx.records.save(found);
  ctx.logger.warn({ worker: record.workerId, pid: leader.pid }, 'found a process without record');
  return found;
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
