import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  chunkBehaviour,
  chunkMachine,
  fromPlain,
  RecentIdText,
  stateName,
  workerBehaviour,
  workerMachine,
  type CommandMeta,
  type EntityBehaviour,
  type ChunkCommand,
  type EntityRuntime,
  type KeyedQueue,
  type WorkerCommand,
} from '../actors/index.js';
import type { AnyStateMachine } from 'xstate';
import {
  chunkId,
  eventSubject,
  type Actor,
  type Environment,
  type KillWork,
  type LaunchWork,
  type Resources,
} from '../events/index.js';
import { attemptFailed, chunkEnd, workerEnd } from './reports.js';
import {
  launch,
  parseReportChunk,
  type ProcessOutcome,
  type Report,
  type Supervised,
  type SupervisorHooks,
  type UsageSample,
} from './supervisor/index.js';
import { runDirOf, type WorkerRecord, type WorkerRecords } from './worker-records.js';
import type { AgentMetrics } from './agent-metrics.js';
import type { SessionHost } from './session-host.service.js';
import { attemptEnvironment, refusedForEnvironment } from './attempt-environment.js';
import type { EnvironmentCache } from './environment/index.js';
import type { LossFence } from './loss-fence.js';
import type { SlotGate } from './slot-gate.js';

/** What the worker-handling half of the agent shares with the service around it. */
export interface WorkerContext {
  readonly node: string;
  readonly by: Actor;
  readonly runtime: EntityRuntime;
  readonly records: WorkerRecords;
  /** Per worker id: its commands reach the log in order. */
  readonly queue: KeyedQueue;
  readonly live: Map<string, LiveWorker>;
  /** The node's latest loss known to the agent: attempts assigned before it were given up. */
  readonly fence: LossFence;
  /** The agent's state dir: worker runs live under it (`runDirOf`). */
  readonly stateDir: string;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly sampleMs: number;
  /** At most one usage sample per worker in this period, except on a new peak. */
  readonly sampleLogMs: number;
  /** Where launches and exits are counted (absent: nowhere). */
  readonly metrics?: AgentMetrics;
  /** Attaches the launches of interactive sessions to their clients (absent: none are). */
  readonly sessions?: SessionHost;
  /**
   * drover's version, recorded with each attempt's environment. Absent: no environment is
   * captured (the benchmark's hollow nodes start no process).
   */
  readonly agentVersion?: string;
  /** Captured environments by cwd (absent: each launch captures afresh). */
  readonly environmentCache?: EnvironmentCache;
  /** The node's room, held by each process from its start to its exit (absent: not counted). */
  readonly slots?: SlotGate;
}

/** What a worker's process holds on its node (records of older agents lack cpus: one). */
function requestOf(record: WorkerRecord): Resources {
  return record.request ?? { cpus: 1, memMb: record.memLimitMb, gpus: 0 };
}

export interface LiveWorker {
  readonly record: WorkerRecord;
  readonly supervised: Supervised;
  /** The record's last save, when it may still be on its way: its removal waits for it. */
  readonly saved?: Promise<unknown>;
  /** Its process has ended: samples still queued are not appended (see `sampler`). */
  readonly ended?: boolean;
}

/**
 * The part of the context that writes a worker's events (no processes, no disk): what hollow
 * nodes share with the real agent, so both write the same commands.
 */
export type ReportContext = Pick<WorkerContext, 'by' | 'runtime' | 'queue' | 'clock' | 'logger'>;

/** Command meta of the agent: ids derive from the worker and what happened, so retries dedupe. */
export function metaOf(
  ctx: Pick<WorkerContext, 'by' | 'clock'>,
  workerId: string,
  tag: string,
): CommandMeta {
  return { id: `${workerId}>${tag}`, at: ctx.clock(), by: ctx.by };
}

async function workerCommand(ctx: ReportContext, id: string, command: WorkerCommand) {
  const r = await ctx.runtime.execute(workerBehaviour, id, command);
  if (!r.ok) ctx.logger.debug({ worker: id, command: command.type, why: r.rejection }, 'refused');
  return r;
}

async function chunkCommand(ctx: ReportContext, id: string, command: ChunkCommand) {
  return ctx.runtime.execute(chunkBehaviour, id, command);
}

/** Usage samples into the log at a bounded rate, and always on a new peak. */
function sampler(ctx: WorkerContext, workerId: string) {
  let lastAt = 0;
  let lastPeak = 0;
  return (s: UsageSample) => {
    const newPeak = s.peakRssMb > lastPeak + 0.5;
    if (!newPeak && s.at - lastAt < ctx.sampleLogMs) return;
    lastAt = s.at;
    lastPeak = Math.max(lastPeak, s.peakRssMb);
    const { rssMb, peakRssMb, cpuSeconds } = s;
    // Logged and dropped when it fails (a 503 while a nats-server is down): the next sample,
    // and the end's peak and CPU figures, say as much. The queue's tail swallowed it unsaid.
    ctx.queue
      .run(workerId, async () => {
        // The end's event carries the final figures: a sample still waiting its turn when the
        // process has ended is superseded, and appending it would only hold the end back behind
        // it (samples come in bursts, every supervisor's ticks being aligned: a cancel that met
        // one waited ~300 ms per worker for them, issue 22).
        if (ctx.live.get(workerId)?.ended) return;
        await workerCommand(ctx, workerId, {
          type: 'ReportSample',
          ...metaOf(ctx, workerId, `sample@${s.at}`),
          data: { rssMb, peakRssMb, cpuSeconds },
        });
      })
      .catch((err: unknown) => ctx.logger.warn({ err, worker: workerId }, 'usage sample dropped'));
  };
}

/** Progress and checkpoints into the log: checkpoints always, bare progress at most once a second. */
function reporter(ctx: WorkerContext, record: WorkerRecord) {
  let lastAt = 0;
  let seq = 0;
  const id = chunkId(record.jobId, record.chunk);
  return (r: Report) => {
    if ('result' in r) return; // the result travels with the outcome, once the exit is known
    const now = ctx.clock();
    if (r.checkpoint === undefined && now - lastAt < 1000) return;
    lastAt = now;
    const data = {
      attempt: record.attempt,
      progress: Math.min(1, Math.max(0, r.progress ?? 0)),
      ...(r.checkpoint !== undefined && { checkpoint: r.checkpoint.slice(0, 65_536) }),
      ...(r.message !== undefined && { message: r.message.slice(0, 1000) }),
    };
    const tag = `progress#${++seq}@${now}`;
    const append = () =>
      chunkCommand(ctx, id, { type: 'ReportProgress', ...metaOf(ctx, record.workerId, tag), data });
    // A checkpoint is retried until it lands (a retry of the attempt resumes from it); bare
    // progress is logged and dropped (the next report or the end supersedes it). Both failures
    // (a 503 while a nats-server is down) were swallowed unsaid by the queue's tail.
    const checkpoint = r.checkpoint !== undefined;
    ctx.queue
      .run(record.workerId, () =>
        checkpoint ? untilLanded(ctx, record.workerId, append, 'checkpoint') : append(),
      )
      .catch((err: unknown) =>
        ctx.logger.warn({ err, worker: record.workerId, checkpoint }, 'progress report dropped'),
      );
  };
}

export function hooksFor(ctx: WorkerContext, record: WorkerRecord): SupervisorHooks {
  return {
    onSample: sampler(ctx, record.workerId),
    onReport: reporter(ctx, record),
    onProtocolError: (e) => ctx.logger.warn({ worker: record.workerId, ...e }, 'report line'),
    onError: (err) => ctx.logger.warn({ worker: record.workerId, err }, 'sampling'),
  };
}

/**
 * Record how a worker ended: the worker's closing event, then the chunk's (result, confirmed
 * cancel or failed attempt). When the chunk has moved on (the scheduler gave up on this attempt
 * after its node looked lost), the process's end is still confirmed, so a cancel can finish.
 */
export async function finish(ctx: WorkerContext, record: WorkerRecord, outcome: ProcessOutcome) {
  ctx.metrics?.exited(outcome.cause);
  await recordEnd(ctx, record, outcome);
}

/** `finish` without the count: the end's events, then the agent forgets the worker. */
async function recordEnd(ctx: WorkerContext, record: WorkerRecord, outcome: ProcessOutcome) {
  await ctx.queue.run(record.workerId, async () => {
    await reportEnd(ctx, record, outcome);
    // A save still on its way would bring the record back after its removal.
    await ctx.live.get(record.workerId)?.saved?.catch(() => undefined);
    await ctx.records.remove(record.workerId);
    ctx.live.delete(record.workerId);
  });
}

/** The attempt a worker runs, as its end is reported. */
export type AttemptRef = Pick<WorkerRecord, 'workerId' | 'jobId' | 'chunk' | 'attempt'>;

/**
 * The events of a worker's end (see `finish`), without the agent's bookkeeping. Call it inside
 * the worker's queue slot: the worker's commands reach the log in order.
 */
export async function reportEnd(ctx: ReportContext, record: AttemptRef, outcome: ProcessOutcome) {
  const { workerId, attempt } = record;
  const id = chunkId(record.jobId, record.chunk);
  // The retry verdict reads the worker's final figures (its peak after out-of-memory), so the
  // worker's end goes first; a cancel needs no verdict, so both appends go out at once.
  const worker = workerCommand(ctx, workerId, workerEnd(outcome, metaOf(ctx, workerId, 'end')));
  // Observed at once: after a cancel it is awaited only once the chunk's end is in (or never,
  // when that throws), and its rejection meanwhile (a 503 while a nats-server was down) was
  // unhandled and killed the agent (the 10,000-job chaos run, issue 23). `await worker` below
  // still throws it, so the caller's retry (`finishPatiently`) sees it.
  worker.catch(() => undefined);
  if (outcome.cause !== 'Cancelled') await worker;
  let r = await chunkCommand(ctx, id, chunkEnd(attempt, outcome, metaOf(ctx, workerId, 'chunk')));
  if (!r.ok && outcome.cause === 'Cancelled') {
    // Stopped for a cancel the chunk never saw (a terminate, say): an ordinary failed attempt.
    r = await chunkCommand(ctx, id, attemptFailed(attempt, outcome, metaOf(ctx, workerId, 'fail')));
  }
  if (!r.ok && stateName(r.state) === 'cancelling' && r.state.context.attempt === attempt) {
    // Stopped otherwise (a disowned attempt's terminate, a limit) as a cancel came: the process
    // is gone, which is all a cancelling chunk waits for. It refuses any other end, and the
    // scheduler confirms only after an exit, not a kill: the chunk stayed cancelling for ever.
    const data = { attempt, confirmed: true };
    const meta = metaOf(ctx, workerId, 'cancelled');
    r = await chunkCommand(ctx, id, { type: 'ConfirmCancelled', ...meta, data });
  }
  if (!r.ok && r.state.context.unconfirmed.includes(attempt)) {
    const meta = metaOf(ctx, workerId, 'stopped');
    await chunkCommand(ctx, id, { type: 'ConfirmProcessStopped', ...meta, data: { attempt } });
  }
  await worker;
}

/** Supervise `supervised` until it ends, then record the end (after `saved`'s save, if any). */
export function watch(
  ctx: WorkerContext,
  record: WorkerRecord,
  supervised: Supervised,
  saved?: Promise<unknown>,
): void {
  const live: { -readonly [K in keyof LiveWorker]: LiveWorker[K] } = {
    record,
    supervised,
    ...(saved && { saved }),
  };
  ctx.live.set(record.workerId, live);
  ctx.slots?.occupy(record.workerId, requestOf(record));
  void supervised.done.then((outcome) => {
    live.ended = true;
    // The slot is free at the exit: the next launch waiting for it starts while this end is
    // being reported (with a pipelining scheduler, the round trip a freed slot waited for).
    ctx.slots?.release(record.workerId);
    return finishPatiently(ctx, record, outcome);
  });
}

/** How long a process's end keeps being retried into the log (then a restart's reconcile does). */
const FINISH_RETRY_MS = 300_000;

/**
 * `finish`, again until it lands: the process is gone and its end must reach the log. A failed
 * append (an ack lost with a killed server, a stream leader change) was logged and dropped: the
 * worker stayed live in the heartbeats, so the scheduler never took it for hung, and its chunk
 * stayed running for ever (the chaos run, issue 23). Command ids dedupe what landed the first
 * time. Not after the connection closed (the agent is stopping; its record stays for the next).
 */
async function finishPatiently(ctx: WorkerContext, record: WorkerRecord, outcome: ProcessOutcome) {
  ctx.metrics?.exited(outcome.cause);
  const deadline = ctx.clock() + FINISH_RETRY_MS;
  for (let delayMs = 250; ; delayMs = Math.min(2 * delayMs, 5_000)) {
    try {
      await recordEnd(ctx, record, outcome);
      return;
    } catch (err) {
      const closed = err instanceof Error && /closed/i.test(`${err.name} ${err.message}`);
      const again = !closed && ctx.clock() < deadline;
      ctx.logger.warn({ err, worker: record.workerId, again }, 'finish failed');
      if (!again) return;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** The environment a process sees (CONTRACT.md "What a process sees"). */
function processEnv(w: LaunchWork): Record<string, string> {
  return {
    ...w.env,
    DROVER_JOB: w.jobId,
    DROVER_CHUNK: String(w.chunk),
    DROVER_CHUNKS: String(w.chunks),
    DROVER_ATTEMPT: String(w.attempt),
    DROVER_NODE: w.node,
    DROVER_WORKER: w.worker,
    DROVER_CHECKPOINT: w.checkpoint ?? '',
  };
}

/**
 * Act on a launch: record the worker, start its process group, report it started. A chunk that
 * was cancelled (or moved to a newer attempt) before the process started gets no process: the
 * worker is closed as killed before start, which confirms the cancel at once. Neither does an
 * attempt assigned before its node was declared lost (a launch that waited in the queue while
 * the agent was away): the loss gave it up. Returns true when a process started and its chunk
 * took the start; false when it did not start, or the chunk refused it (the launch message's view
 * of the chunk was old: the caller asks the log, `launchOwned`). `refreshed`, when given, settles
 * once the chunk's view was brought up to date (launch-turn.ts): the check waits for it.
 */
export async function launchWorker(
  ctx: WorkerContext,
  w: LaunchWork,
  refreshed?: Promise<void>,
): Promise<boolean> {
  if (ctx.live.has(w.worker)) return false;
  const runDir = runDirOf(ctx.stateDir, w.worker);
  // Read-only, so it is read while `worker.launching` travels (a freed slot waits for both):
  // one step fewer on the way to the next process. A launch refused below does not use it.
  const environmentRead =
    ctx.agentVersion === undefined
      ? undefined
      : attemptEnvironment(w, w.cwd ?? runDir, ctx.agentVersion, ctx.environmentCache);
  void environmentRead?.catch(() => undefined); // awaited below when used; never unhandled
  const launching = await reportLaunching(ctx, w);
  if (!launching) {
    await closeLostLaunch(ctx, w);
    return false; // handled in an earlier life
  }
  const record: WorkerRecord = {
    workerId: w.worker,
    jobId: w.jobId,
    chunk: w.chunk,
    attempt: w.attempt,
    runDir,
    memLimitMb: w.request.memMb,
    request: w.request,
    ...(w.timeoutS !== undefined && { timeoutS: w.timeoutS }),
    assignedSeq: w.chunkState.lastSeq,
  };
  if (ctx.fence.givesUp(record.assignedSeq)) {
    await finish(ctx, record, notStartedLost(w));
    return false;
  }
  await refreshed; // the chunk read again (a launch that waited for room), beside `launching`
  if (!(await launchStillWanted(ctx, w))) {
    await finish(ctx, record, notStarted(w));
    return false;
  }
  const environment = await environmentRead;
  const refused = environment && refusedForEnvironment(w, environment);
  if (refused) {
    ctx.logger.info({ worker: w.worker, why: refused.message }, 'pinned environment changed');
    await finish(ctx, record, refused);
    return false;
  }
  await ctx.records.save(record); // the run dir is made by `launch`, which then knows it is new
  const spec = {
    workerId: w.worker,
    command: w.command,
    env: processEnv(w),
    memLimitMb: w.request.memMb,
    runDir,
    ...(w.cwd !== undefined && { cwd: w.cwd }),
    ...(w.timeoutS !== undefined && { timeoutS: w.timeoutS }),
  };
  const hooks = hooksFor(ctx, record);
  const opts = { sampleMs: ctx.sampleMs };
  // A session's process is the same attempt with its stdio on the session's subjects.
  const supervised =
    (await ctx.sessions?.launch(w, spec, hooks, opts)) ?? (await launch(spec, hooks, opts));
  const started = {
    ...record,
    pid: supervised.pid,
    startTime: supervised.startTime,
    startedAt: ctx.clock(),
  };
  if (supervised.pid <= 0) {
    watch(ctx, started, supervised);
    return false;
  }
  ctx.metrics?.launched();
  // The pid's record, the start's events and the watch for the end all go at once: a freed
  // slot waits for none of the others. A restart before the save lands finds the process
  // through its run dir (`findRunLeader`), as after a kill before it. The end's events queue
  // behind the start's (the worker's queue slot, taken by `reportStarted` as it is called),
  // and the record is removed only after its save (`recordEnd`).
  const saved = ctx.records.save(started);
  const reported = reportStarted(ctx, w, supervised.pid, supervised.pgid, environment);
  watch(ctx, started, supervised, saved);
  const [, taken] = await Promise.all([saved, reported]);
  return taken;
}

/**
 * A launch whose worker the log marked lost before any process was recorded for it: an earlier
 * life of the agent wrote `worker.launching` and was killed before saving the worker's record
 * (saved before any process starts; reconcile settles every record before work is taken), and
 * the node was declared lost meanwhile. No process ever ran, yet nothing said so: a chunk being
 * cancelled waited for its confirmation for ever (the chaos run, issue 23). Its end is reported
 * now: a cancel's confirmation while the chunk is cancelling, else a lost attempt not started.
 */
async function closeLostLaunch(ctx: WorkerContext, w: LaunchWork): Promise<void> {
  const worker = await ctx.runtime.load(workerBehaviour, w.worker);
  if (stateName(worker.state) !== 'lost' || ctx.live.has(w.worker)) return;
  ctx.runtime.forget(eventSubject('chunk', chunkId(w.jobId, w.chunk)));
  const chunk = await ctx.runtime.load(chunkBehaviour, chunkId(w.jobId, w.chunk));
  const cancelling = stateName(chunk.state) === 'cancelling';
  const record: WorkerRecord = {
    workerId: w.worker,
    jobId: w.jobId,
    chunk: w.chunk,
    attempt: w.attempt,
    runDir: runDirOf(ctx.stateDir, w.worker),
    memLimitMb: w.request.memMb,
  };
  await finish(ctx, record, cancelling ? notStarted(w) : notStartedLost(w));
}

/**
 * The first event of a launch: prime the chunk from the snapshot the work message carries (saves
 * a read), then `worker.launching`. False when the worker is past launching (handled in an
 * earlier life of the agent, or re-delivered).
 */
export async function reportLaunching(ctx: ReportContext, w: LaunchWork): Promise<boolean> {
  const cid = chunkId(w.jobId, w.chunk);
  // Not over a newer view: a launch that waited for room read its chunk again (launch-turn.ts).
  const { lastSeq } = w.chunkState;
  if ((ctx.runtime.peek(chunkBehaviour, cid)?.lastSeq ?? 0) < lastSeq) {
    const snapshot = fromPlain(chunkMachine, w.chunkState.snapshot as never);
    ctx.runtime.prime(chunkBehaviour, cid, { state: snapshot, lastSeq, eventIds: new Set() });
  }
  // A launch's worker is new (its id names the attempt): seeded empty, `worker.launching` needs
  // no read of an empty subject first. A worker that exists after all (a re-delivered launch, an
  // earlier life's) makes the append's expected sequence 0 conflict, and the runtime reads it
  // and decides again, as it would have from the read.
  if (!ctx.runtime.peek(workerBehaviour, w.worker)) {
    const empty = { state: workerBehaviour.initial(), lastSeq: 0, eventIds: RecentIdText.EMPTY };
    ctx.runtime.prime(workerBehaviour, w.worker, empty);
  }
  const launchData = {
    jobId: w.jobId,
    chunk: w.chunk,
    attempt: w.attempt,
    node: w.node,
    memLimitMb: w.request.memMb,
    ...(w.timeoutS !== undefined && { timeoutS: w.timeoutS }),
  };
  const meta = metaOf(ctx, w.worker, 'launch');
  const launched = await workerCommand(ctx, w.worker, {
    type: 'LaunchWorker',
    ...meta,
    data: launchData,
  });
  return stateName(launched.state) === 'launching';
}

/** True when the launch is still wanted: its attempt is the chunk's current one, not cancelled. */
export async function launchStillWanted(ctx: ReportContext, w: LaunchWork): Promise<boolean> {
  const chunk = await ctx.runtime.load(chunkBehaviour, chunkId(w.jobId, w.chunk));
  const current = chunk.state.context.attempt === w.attempt;
  return current && !['cancelling', 'cancelled'].includes(stateName(chunk.state));
}

/**
 * The process is running: `worker.started` (with the environment it runs in, when captured) and
 * `chunk.started`, in the worker's queue slot. True when the chunk took the start.
 */
export async function reportStarted(
  ctx: ReportContext,
  w: LaunchWork,
  pid: number,
  pgid: number,
  environment?: Environment,
): Promise<boolean> {
  const cid = chunkId(w.jobId, w.chunk);
  // Retried in the worker's queue slot until it lands: the end's events queue behind it, and an
  // end reported after a start that failed (a 503 while a nats-server was down) met a chunk
  // still assigned, which refused it and stayed assigned for ever (the 10,000-job chaos run).
  const [, chunk] = await ctx.queue.run(w.worker, () =>
    untilLanded(ctx, w.worker, () =>
      Promise.all([
        workerCommand(ctx, w.worker, {
          type: 'ReportStarted',
          ...metaOf(ctx, w.worker, 'started'),
          data: { pid, pgid, ...(environment && { environment }) },
        }),
        chunkCommand(ctx, cid, {
          type: 'StartChunk',
          ...metaOf(ctx, w.worker, 'chunk-started'),
          data: { attempt: w.attempt, pid },
        }),
      ]),
    ),
  );
  return chunk.ok;
}

/**
 * `append` again after a failure (a server down, a stream electing its leader), with backoff,
 * for up to FINISH_RETRY_MS; a closed connection or the deadline throws the last error. The
 * commands' ids make a retry of an append that landed with its ack lost harmless.
 */
async function untilLanded<T>(
  ctx: Pick<ReportContext, 'clock' | 'logger'>,
  worker: string,
  append: () => Promise<T>,
  what = 'start',
): Promise<T> {
  const deadline = ctx.clock() + FINISH_RETRY_MS;
  for (let delayMs = 250; ; delayMs = Math.min(2 * delayMs, 5_000)) {
    try {
      return await append();
    } catch (err) {
      const closed = err instanceof Error && /closed/i.test(`${err.name} ${err.message}`);
      if (closed || ctx.clock() >= deadline) throw err;
      ctx.logger.warn({ err, worker, what }, 'not recorded; trying again');
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** The outcome of an attempt whose process was never started because it was cancelled. */
export function notStarted(w: LaunchWork): ProcessOutcome {
  return {
    exitCode: null,
    signal: null,
    cause: 'Cancelled',
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
    message: `attempt ${w.attempt} cancelled before its process started`,
  };
}

/** The outcome of an attempt not started because its node was declared lost after assigning it. */
export function notStartedLost(w: LaunchWork): ProcessOutcome {
  return {
    exitCode: null,
    signal: null,
    cause: 'NodeLost',
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
    message: `attempt ${w.attempt} not started: ${w.node} was declared lost after it was assigned`,
  };
}

/** Act on a kill: SIGTERM, grace, SIGKILL; the end is recorded by `watch` once the group is gone. */
export async function killWorker(ctx: WorkerContext, w: Omit<KillWork, 'kind'>): Promise<void> {
  const live = ctx.live.get(w.worker);
  if (!live) return;
  // The scheduler's view includes its cancel and kill request: confirming against it needs no
  // fresh read, and the report of the end meets no conflict.
  primeIfNewer(
    ctx,
    chunkBehaviour,
    chunkMachine,
    chunkId(live.record.jobId, live.record.chunk),
    w.chunkState,
  );
  primeIfNewer(ctx, workerBehaviour, workerMachine, w.worker, w.workerState);
  await live.supervised.kill(w.reason, w.graceMs === undefined ? {} : { graceMs: w.graceMs });
}

function primeIfNewer<S>(
  ctx: WorkerContext,
  behaviour: EntityBehaviour<S, never>,
  machine: AnyStateMachine,
  id: string,
  given: { snapshot: unknown; lastSeq: number } | undefined,
): void {
  const cached = ctx.runtime.peek(behaviour, id);
  if (!given || given.lastSeq <= (cached?.lastSeq ?? 0)) return;
  ctx.runtime.prime(behaviour, id, {
    state: fromPlain(machine, given.snapshot as never) as S,
    lastSeq: given.lastSeq,
    eventIds: cached?.eventIds ?? new Set(),
  });
}

/** The last `{result}` line of a report file (a process that ended while the agent was away). */
export async function lastResult(runDir: string): Promise<unknown> {
  const text = await readFile(join(runDir, 'report'), 'utf8').catch(() => '');
  let result: unknown;
  for (const r of parseReportChunk('', text, true).reports) if ('result' in r) result = r.result;
  return result;
}
