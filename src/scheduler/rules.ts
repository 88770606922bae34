import {
  allQuiescent,
  allSettled,
  allSucceeded,
  cancelCascade,
  cancelFromParent,
  cascadeCancelId,
  chunkSettlements,
  stateName,
  type ChunkCommand,
  type ChunkSnapshot,
  type CommandMeta,
  type JobCommand,
  type JobSnapshot,
  type NodeCommand,
  type NodeSnapshot,
  type WorkerCommand,
  type WorkerSnapshot,
} from '../actors/index.js';
import { chunkId, type Actor, type FailureCause, type JobFailureCause } from '../events/index.js';
import { retryDecision, type Backoff, type ResourceVector } from '../policy/index.js';
import { closeOf } from './job-close.js';

/** What the rules read: the folded entities the scheduler holds. */
export interface Peek {
  job(id: string): JobSnapshot | undefined;
  chunk(id: string): ChunkSnapshot | undefined;
  worker(id: string): WorkerSnapshot | undefined;
  node(id: string): NodeSnapshot | undefined;
}

/** Something the scheduler should do: a command for an entity, or a kill for an agent. */
export type Action =
  | { readonly entity: 'job'; readonly id: string; readonly command: JobCommand }
  | { readonly entity: 'chunk'; readonly id: string; readonly command: ChunkCommand }
  | { readonly entity: 'worker'; readonly id: string; readonly command: WorkerCommand }
  | { readonly entity: 'node'; readonly id: string; readonly command: NodeCommand }
  | {
      readonly entity: 'kill';
      readonly node: string;
      readonly worker: string;
      readonly reason: 'cancel' | 'hung' | 'terminate';
    };

export interface RuleContext {
  readonly peek: Peek;
  readonly by: Actor;
  readonly now: number;
  readonly largestNode: ResourceVector;
  /** Backoff of counted retries (the policy's default when absent). */
  readonly backoff?: Backoff;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const isTerminal = (s: { value: unknown }) => TERMINAL.has(stateName(s as never));

/**
 * Command meta for a rule: the id names the rule and the fact it answers, so the same rule firing
 * twice (level-triggered, after a takeover) yields the same ids and the log keeps one.
 */
export const meta = (ctx: RuleContext, id: string, cause?: string): CommandMeta => ({
  id,
  at: ctx.now,
  by: ctx.by,
  ...(cause !== undefined && { cause }),
});

/**
 * What a chunk's state asks of the scheduler (level-triggered, pure): start its queued job once
 * it is placed, tell its job when it settles or quiesces, decide the retry of a failed attempt,
 * and have its process killed when it is being cancelled.
 */
export function chunkRules(ctx: RuleContext, id: string): Action[] {
  const chunk = ctx.peek.chunk(id);
  if (!chunk) return [];
  const c = chunk.context;
  const job = ctx.peek.job(c.jobId);
  const state = stateName(chunk);
  const out: Action[] = [];
  if (job && isTerminal(chunk)) {
    const known = chunkSettlements.at(job.context.chunks, c.index);
    const quiescent = c.unconfirmed.length === 0;
    if (!known) {
      const data = { chunks: [{ index: c.index, state: state as 'succeeded', quiescent }] };
      out.push({
        entity: 'job',
        id: c.jobId,
        command: { type: 'RecordChunksSettled', ...meta(ctx, `settled:${id}`), data },
      });
    } else if (!known.quiescent && quiescent) {
      const data = { indices: [c.index] };
      out.push({
        entity: 'job',
        id: c.jobId,
        command: { type: 'RecordChunksQuiesced', ...meta(ctx, `quiesced:${id}`), data },
      });
    }
  }
  if (job && (state === 'assigned' || state === 'running') && stateName(job) === 'queued') {
    // A job starts with its first placement. A rule, not a step after the assignment's append:
    // that append may land with its ack lost (a stream leader change), and the job must start
    // all the same once the assignment is folded.
    out.push({
      entity: 'job',
      id: c.jobId,
      command: { type: 'StartJob', ...meta(ctx, `start:${c.jobId}`) },
    });
  }
  if (job && ['pending', 'retry_wait'].includes(state) && cancelledAround(job, c.index)) {
    // Created after its job's cascade settled it as never created (a creation under way when
    // the cancel came): never placed (its job is not queued or running), but left waiting.
    const data = { reason: job.context.cancelReason ?? 'cancelled' };
    const m = meta(ctx, cascadeCancelId(c.jobId, id));
    out.push({ entity: 'chunk', id, command: { type: 'RequestCancel', ...m, data } });
  } else if (state === 'retry_wait' && job?.context.spec && c.retry?.attempt !== c.attempt) {
    out.push(retryAction(ctx, id, chunk, job));
  }
  if (state === 'cancelling' && c.worker && c.node) {
    const worker = ctx.peek.worker(c.worker);
    const ws = worker ? stateName(worker) : 'none';
    if (ws === 'exited') {
      // The process ended by itself (or was settled from its status file by an agent that came
      // back after a kill -9) with an exit the agent reports as a result or a failed attempt,
      // which a cancelling chunk refuses: it stayed `cancelling` for ever (the chaos run, issue
      // 23). The worker's stored end is the confirmation that the process is gone.
      const data = { attempt: c.attempt, confirmed: true };
      out.push({
        entity: 'chunk',
        id,
        command: { type: 'ConfirmCancelled', ...meta(ctx, `cancelled:${id}`), data },
      });
    } else if (worker && ['launching', 'running'].includes(ws) && !worker.context.killRequested) {
      // The kill goes out once its request is stored (this rule fires again then), carrying the
      // worker as stored: the agent reports the end without a conflict and a read per worker.
      // The cascade asks it already (`killAhead`); asked here too when the chunk was cancelled
      // some other way or that ask was lost: the same command id, so the worker stores one.
      out.push(killRequest(ctx, c.worker));
    } else if (!['exited', 'killed'].includes(ws)) {
      // Asked already, lost (its agent may come back), or not yet known (its launch may be on
      // the way): the kill goes out as is.
      out.push({ entity: 'kill', node: c.node, worker: c.worker, reason: 'cancel' });
    }
  }
  return out;
}

/**
 * Whether chunk `index`'s job is cancelling or cancelled and has settled the chunk already: as
 * never created, so a chunk that exists anyway came after its cascade.
 */
function cancelledAround(job: JobSnapshot, index: number): boolean {
  const state = stateName(job);
  return (
    (state === 'cancelling' || state === 'cancelled') &&
    chunkSettlements.at(job.context.chunks, index) !== null
  );
}

/** The kill request of a cancelled chunk's worker (one id per worker: asked twice, stored once). */
function killRequest(ctx: RuleContext, worker: string): Action {
  const data = { reason: 'cancel' as const, signal: 'SIGTERM' };
  return {
    entity: 'worker',
    id: worker,
    command: { type: 'RequestKill', ...meta(ctx, `kill:${worker}`), data },
  };
}

/**
 * The kill request of the live process of a chunk the cascade is cancelling, asked together with
 * the chunk's cancel instead of after it is stored (the chunk rule's turn): the kill goes out as
 * soon as both are, one append round trip and one turn of the rules earlier. Safe to ask before
 * the chunk reads `cancelling`: the request only records what Drover wants, nothing acts on it
 * but the chunk rule, which sends the kill once the chunk is cancelling; if the chunk's cancel is
 * refused (its attempt ended meanwhile), its worker has ended too and refuses the request.
 */
function killAhead(ctx: RuleContext, chunk: string): Action | undefined {
  const c = ctx.peek.chunk(chunk);
  if (!c || !['assigned', 'running'].includes(stateName(c)) || !c.context.worker) return undefined;
  const worker = ctx.peek.worker(c.context.worker);
  const ws = worker ? stateName(worker) : 'none';
  if (!worker || !['launching', 'running'].includes(ws) || worker.context.killRequested)
    return undefined;
  return killRequest(ctx, c.context.worker);
}

/** Causes whose failures count against the job's retries (POLICY.md failure table). */
const COUNTING = new Set<FailureCause>([
  'ExitNonZero',
  'Signaled',
  'OutOfMemory',
  'TimeLimit',
  'LaunchFailed',
]);

function retryAction(ctx: RuleContext, id: string, chunk: ChunkSnapshot, job: JobSnapshot): Action {
  const c = chunk.context;
  const spec = job.context.spec!;
  const last = c.attempts[c.attempts.length - 1];
  const cause = last?.cause ?? 'NodeLost';
  const earlier = c.attempts.slice(0, -1).filter((a) => a.cause !== undefined);
  const worker = c.worker ? ctx.peek.worker(c.worker) : undefined;
  const request = c.request ?? { cpus: spec.cpus, memMb: spec.memMb, gpus: spec.gpus };
  const decision = retryDecision({
    cause,
    node: last?.node ?? c.node ?? '',
    attempt: c.attempt,
    now: ctx.now,
    retriesAllowed: spec.retries,
    retriesUsed: earlier.filter((a) => COUNTING.has(a.cause!)).length,
    request,
    peakRssMb: worker?.context.peakRssMb ?? 0,
    largestNode: ctx.largestNode,
    previousFailures: earlier.map((a) => ({ cause: a.cause!, node: a.node })),
    ...(last?.exitCode !== undefined && { exitCode: last.exitCode }),
    ...(ctx.backoff && { backoff: ctx.backoff }),
  });
  const m = meta(ctx, `retry:${id}#${c.attempt}`);
  if (decision.retry) {
    const { retry: _r, ...data } = decision;
    return {
      entity: 'chunk',
      id,
      command: { type: 'ScheduleRetry', ...m, data: { attempt: c.attempt, ...data } },
    };
  }
  return {
    entity: 'chunk',
    id,
    command: { type: 'FailChunk', ...m, data: { cause, message: decision.reason.slice(0, 4000) } },
  };
}

/** The first failed chunk's cause, for the job's own outcome. */
function failureOf(
  ctx: RuleContext,
  jobId: string,
  job: JobSnapshot,
): { cause: JobFailureCause; message: string; chunk?: number } {
  const { chunks } = job.context;
  for (let i = 0; i < chunks.total; i++) {
    if (chunkSettlements.at(chunks, i)?.state !== 'failed') continue;
    const failure = ctx.peek.chunk(chunkId(jobId, i))?.context.failure;
    const cause: JobFailureCause = failure?.cause ?? 'ExitNonZero';
    return {
      cause,
      message: `chunk ${i}: ${failure?.message ?? 'failed'}`.slice(0, 4000),
      chunk: i,
    };
  }
  const child = Object.entries(job.context.children).find(([, s]) => s?.state !== 'succeeded');
  return {
    cause: 'ExitNonZero',
    message: child ? `child job ${child[0]} ${child[1]?.state}` : 'failed',
  };
}

/**
 * What a job's state asks of the scheduler (pure): close it when its facts allow (succeeded,
 * failed, cancelled), carry a cancel down (once per cascade: `cascaded`), tell its parent when
 * it settles or quiesces, clear its chunks' results after its own were cleared.
 */
export function jobRules(ctx: RuleContext, id: string, cascaded: boolean): Action[] {
  const job = ctx.peek.job(id);
  if (!job || stateName(job) === 'none') return [];
  const out: Action[] = [];
  const state = stateName(job);
  // `closeOf` checks first that the job is open with every chunk and child settled: that spares
  // the two decisions closingCommand tries (validation included) on every event of a running
  // job, and on every later look at a closed one (a fifth of the scheduler's time in a mass
  // cancel).
  const close = closeOf(id, job, { at: ctx.now, by: ctx.by });
  if (close) out.push({ entity: 'job', id, command: close });
  else if (
    !isTerminal(job) &&
    state !== 'cancelling' &&
    allSettled(job.context) &&
    !allSucceeded(job.context)
  ) {
    out.push({
      entity: 'job',
      id,
      command: { type: 'FailJob', ...meta(ctx, `fail:${id}`), data: failureOf(ctx, id, job) },
    });
  }
  if (state === 'cancelling' && !cascaded) {
    const total = job.context.chunks.total;
    const chunks = Array.from({ length: total }, (_, i) => ctx.peek.chunk(chunkId(id, i)));
    const plan = cancelCascade(id, job, chunks, (child) => ctx.peek.job(child), {
      ...meta(ctx, `cancel:${id}`),
      reason: job.context.cancelReason ?? 'cancelled',
    });
    for (const a of plan.chunks) {
      out.push({ entity: 'chunk', id: a.id, command: a.command });
      const kill = killAhead(ctx, a.id);
      if (kill) out.push(kill);
    }
    for (const a of plan.children) out.push({ entity: 'job', id: a.id, command: a.command });
    for (const command of plan.job) out.push({ entity: 'job', id, command });
  }
  out.push(...dependencyFailures(ctx, id, job));
  const parent = job.context.spec?.parent;
  const owed =
    parent && cancelFromParent(id, job, ctx.peek.job(parent), { at: ctx.now, by: ctx.by });
  if (owed) out.push({ entity: 'job', ...owed });
  if (parent && isTerminal(job)) {
    const known = ctx.peek.job(parent)?.context.children[id];
    const quiescent = allQuiescent(job.context);
    if (known === null) {
      const data = { childId: id, state: state as 'succeeded', quiescent };
      out.push({
        entity: 'job',
        id: parent,
        command: { type: 'RecordChildSettled', ...meta(ctx, `child-settled:${id}`), data },
      });
    } else if (known && !known.quiescent && quiescent) {
      out.push({
        entity: 'job',
        id: parent,
        command: {
          type: 'RecordChildQuiesced',
          ...meta(ctx, `child-quiesced:${id}`),
          data: { childId: id },
        },
      });
    }
  }
  return out;
}

/**
 * A job one of whose `after` dependencies ended without success will never run: its waiting
 * chunks fail with `DependencyFailed` (naming the dependency), and the job follows them. Pure.
 */
function dependencyFailures(ctx: RuleContext, id: string, job: JobSnapshot): Action[] {
  if (!['submitted', 'queued', 'held'].includes(stateName(job))) return [];
  const failed = (job.context.spec?.after ?? []).find((dep) => {
    const d = ctx.peek.job(dep);
    return d !== undefined && ['failed', 'cancelled'].includes(stateName(d));
  });
  if (failed === undefined) return [];
  const message = `dependency ${failed} ${stateName(ctx.peek.job(failed)!)}: this job will never run`;
  return Array.from({ length: job.context.chunks.total }, (_, i) => chunkId(id, i))
    .filter((cid) => {
      const c = ctx.peek.chunk(cid);
      return c !== undefined && ['pending', 'retry_wait'].includes(stateName(c));
    })
    .map((cid) => ({
      entity: 'chunk' as const,
      id: cid,
      command: {
        type: 'FailChunk' as const,
        ...meta(ctx, `dependency-failed:${cid}`),
        data: { cause: 'DependencyFailed' as const, message },
      },
    }));
}

/** After a job's results were cleared: clear every chunk's (pure; once per job). */
export function clearChunks(ctx: RuleContext, id: string): Action[] {
  const job = ctx.peek.job(id);
  if (!job?.context.resultsCleared) return [];
  return Array.from({ length: job.context.chunks.total }, (_, i) => chunkId(id, i))
    .filter((cid) => ctx.peek.chunk(cid)?.context.resultsCleared === false)
    .map((cid) => ({
      entity: 'chunk' as const,
      id: cid,
      command: { type: 'ClearResults' as const, ...meta(ctx, `clear:${cid}`) },
    }));
}
