import type { NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import {
  behaviours,
  chunkBehaviour,
  workerBehaviour,
  createEntityRuntime,
  createKeyedQueue,
  stateName,
  toPlain,
  type ChunkSnapshot,
  type EntityBehaviour,
  type JobSnapshot,
  type NodeSnapshot,
  type WorkerSnapshot,
} from '../actors/index.js';
import {
  HEARTBEAT_WILDCARD,
  JetStreamPublisher,
  chunkId,
  isCorrupt,
  parseChunkId,
  parseEventSubject,
  workSubject,
  workerId,
  type Actor,
  type Entity,
  type EventLog,
  type Heartbeat,
  type JobSpec,
  type KillWork,
  type RecordedEvent,
} from '../events/index.js';
import { FarmIndex } from './farm-index.js';
import { watchNodes, type Heard } from './watchdog.js';
import { launchWork, pendingAction, submissionSteps } from './work-messages.js';
import { consumeIntake } from './intake.jetstream.js';
import { acquireLease } from './lease.jetstream.js';
import { planRound } from './placement-round.js';
import {
  defaultFairShareConfig,
  type Backoff,
  type FairShareConfig,
  type Placement,
  type ResourceVector,
} from './policy/index.js';
import { noSchedulerMetrics, type SchedulerMetrics } from './scheduler-metrics.js';
import {
  chunkRules,
  clearChunks,
  jobRules,
  type Action,
  type Peek,
  type RuleContext,
} from './rules.js';

export interface SchedulerOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  /** This scheduler's name in the lease and on its events. */
  readonly holder: string;
  readonly leaseTtlMs?: number;
  /** A node whose heartbeats stop for this long is lost (default 10 s). */
  readonly nodeLostMs?: number;
  readonly fairShare?: Partial<FairShareConfig>;
  /** Backoff between counted retries (default: the policy's, 10 s doubling to 10 min). */
  readonly backoff?: Backoff;
  readonly clock?: () => number;
  readonly signal?: AbortSignal;
  /** Where rounds, placements and the tail are reported (default: nowhere). */
  readonly metrics?: SchedulerMetrics;
}

export interface Scheduler {
  readonly epoch: number;
  /** Resolves when this scheduler stops leading (deposed or stopped). */
  readonly lost: Promise<void>;
  stop(): Promise<void>;
}

const packr = new Packr({ useRecords: false });
/** Placements awaiting their `chunk.assigned` append, at most (rounds pause above it). */
const MAX_IN_FLIGHT = 8_192;

/**
 * The scheduler service: waits for the lease, folds the whole log into memory, then reacts to
 * every change level-triggered (what each entity's state asks for), places waiting chunks in
 * fair-share order, takes submissions from the intake and watches agents' heartbeats. Every write
 * carries its fencing epoch; a deposed scheduler's writes are refused by the entities.
 */
export async function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { nc, eventLog, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const metrics = opts.metrics ?? noSchedulerMetrics;
  const lease = await acquireLease(nc, {
    holder: opts.holder,
    logger,
    ...(opts.leaseTtlMs && { ttlMs: opts.leaseTtlMs }),
    ...(opts.signal && { signal: opts.signal }),
  });
  const by: Actor = { kind: 'scheduler', id: opts.holder, epoch: lease.epoch };
  const config: FairShareConfig = { ...defaultFairShareConfig, ...opts.fairShare };
  const runtime = createEntityRuntime({
    eventLog,
    cache: true,
    onAnomaly: (subject, a) => logger.warn({ subject, kind: a.kind }, 'history anomaly'),
    // A conflict's fresh read can get ahead of the tail, which then skips what it already holds:
    // without this, a chunk that succeeded meanwhile stayed "running" to the index and its job
    // never closed (seen under CPU load, 1 run in 2 of the hollow-node test).
    onRefresh: (entity, id, loaded) => changed(entity, id, loaded.state, loaded.lastSeq),
  });
  const index = new FarmIndex(config.halfLifeS);
  const queue = createKeyedQueue();
  // Work messages go through the log's own publisher: a bounded window, no per-message timer.
  const work = new JetStreamPublisher(nc, 10_000);
  const peekOf =
    <S>(b: EntityBehaviour<S, never>) =>
    (id: string) =>
      runtime.peek(b, id)?.state;
  const peek: Peek = {
    job: peekOf(behaviours.job as never) as (id: string) => JobSnapshot | undefined,
    chunk: peekOf(behaviours.chunk as never) as (id: string) => ChunkSnapshot | undefined,
    worker: peekOf(behaviours.worker as never) as (id: string) => WorkerSnapshot | undefined,
    node: peekOf(behaviours.node as never) as (id: string) => NodeSnapshot | undefined,
  };
  let live = false;
  let stopped = false;
  /** The index's generation the last round saw: a change that leaves it needs no new round. */
  let roundGeneration = -1;
  let missed = false;

  /** Every open job and its chunks to the rules: what is owed is done again (ids dedupe it). */
  function sweep(): void {
    missed = false;
    for (const jobId of index.openJobs) {
      dirty.add(`job:${jobId}`);
      const job = peek.job(jobId);
      for (let i = 0; i < (job?.context.chunks.total ?? 0); i++)
        dirty.add(`chunk:${chunkId(jobId, i)}`);
    }
    cascaded.clear();
    scheduleRules();
    requestRound();
  }
  const dirty = new Set<string>();
  const cascaded = new Set<string>();
  const cleared = new Set<string>();

  /** Fold a new state into the indexes and mark what it concerns for the rules. */
  function changed(entity: Entity, id: string, state: unknown, seq?: number): void {
    switch (entity) {
      case 'job': {
        const job = state as JobSnapshot;
        index.job(id, job, seq);
        dirty.add(`job:${id}`);
        if (job.context.spec?.parent) dirty.add(`job:${job.context.spec.parent}`);
        for (const dependent of index.dependents.get(id) ?? []) dirty.add(`job:${dependent}`);
        break;
      }
      case 'chunk': {
        index.chunk(id, state as ChunkSnapshot);
        dirty.add(`chunk:${id}`);
        dirty.add(`job:${parseChunkId(id).jobId}`);
        break;
      }
      case 'worker': {
        const [job, i] = id.split(':');
        dirty.add(`chunk:${job}:${i}`);
        break;
      }
      case 'node':
        index.node(id, state as NodeSnapshot);
        break;
    }
    if (index.generation !== roundGeneration) requestRound();
    if (live) scheduleRules();
  }

  function exec(a: Action): Promise<void> {
    if (a.entity === 'kill') {
      const chunk = runtime.peek(chunkBehaviour, a.worker.slice(0, a.worker.lastIndexOf(':')));
      const worker = runtime.peek(workerBehaviour, a.worker);
      const kill: KillWork = {
        kind: 'kill',
        worker: a.worker,
        reason: a.reason,
        ...(chunk && { chunkState: { snapshot: toPlain(chunk.state), lastSeq: chunk.lastSeq } }),
        ...(worker && {
          workerState: { snapshot: toPlain(worker.state), lastSeq: worker.lastSeq },
        }),
      };
      return work
        .publish(workSubject(a.node), packr.pack(kill), `kill:${a.worker}`)
        .then(() => undefined);
    }
    const behaviour = behaviours[a.entity] as EntityBehaviour<unknown, unknown>;
    return queue.run(`${a.entity}:${a.id}`, async () => {
      if (!lease.held() || stopped) {
        missed = true; // redone by a sweep once the lease is renewed
        return;
      }
      const r = await runtime.execute(behaviour, a.id, a.command as never);
      if (r.ok && r.events.length > 0) changed(a.entity, a.id, r.state, r.lastSeq);
      else if (!r.ok)
        logger.debug(
          {
            entity: a.entity,
            id: a.id,
            type: (a.command as { type: string }).type,
            why: r.rejection.message,
          },
          'refused',
        );
    });
  }
  const run = (actions: Action[]) => {
    for (const a of actions)
      exec(a).catch((err: unknown) => logger.error({ err, a: a.entity }, 'action failed'));
  };

  const ruleContext = (): RuleContext => ({
    peek,
    by,
    now: clock(),
    largestNode: index.largestNode(peek),
    ...(opts.backoff && { backoff: opts.backoff }),
  });

  let rulesScheduled = false;
  function scheduleRules(): void {
    if (rulesScheduled) return;
    rulesScheduled = true;
    setImmediate(() => {
      rulesScheduled = false;
      const ctx = ruleContext();
      const keys = [...dirty];
      dirty.clear();
      for (const key of keys) {
        const at = key.indexOf(':');
        const kind = key.slice(0, at);
        const id = key.slice(at + 1);
        if (kind === 'chunk') run(chunkRules(ctx, id));
        else if (kind === 'job') {
          run(jobRules(ctx, id, cascaded.has(id)));
          if (peek.job(id) && stateName(peek.job(id)!) === 'cancelling') cascaded.add(id);
          if (peek.job(id)?.context.resultsCleared && !cleared.has(id)) {
            cleared.add(id);
            run(clearChunks(ctx, id));
          }
        }
      }
    });
  }

  // Placement rounds: at most one at a time, soon after something changed; reasons once a second.
  const reserved = new Map<string, ResourceVector>();
  const inFlight = new Set<string>();
  let roundWanted = false;
  let roundRunning = false;
  let lastReasonsAt = 0;
  function requestRound(): void {
    roundWanted = true;
    if (live && !roundRunning) setImmediate(runRound);
  }
  function runRound(): void {
    if (!roundWanted || roundRunning || stopped || !lease.held()) return;
    roundWanted = false;
    roundRunning = true;
    roundGeneration = index.generation;
    const planStart = performance.now();
    const now = clock();
    const reasons = now - lastReasonsAt >= 1000;
    if (reasons) lastReasonsAt = now;
    try {
      // At most MAX_IN_FLIGHT placements await their append: the round after sees them placed.
      // A round costs the whole queue, so wait until half the window is free before the next.
      if (inFlight.size > MAX_IN_FLIGHT / 2) return;
      const room = MAX_IN_FLIGHT - inFlight.size;
      const out = planRound({
        peek,
        index,
        now,
        config,
        reserved,
        inFlight,
        reasons,
        maxPlacements: room,
      });
      metrics.round(
        (performance.now() - planStart) / 1000,
        reasons ? out.pending : undefined,
        peek.job,
      );
      for (const p of out.placements) place(p);
      const ctx = ruleContext();
      const notes = [...out.pending].map(([jobId, note]) =>
        pendingAction(ctx, jobId, note, out.queueLength),
      );
      run(notes.filter((a) => a !== undefined));
    } catch (err) {
      logger.error({ err }, 'round failed');
    } finally {
      roundRunning = false;
      if (roundWanted) setTimeout(runRound, 2);
    }
  }

  function reserve(node: string, r: ResourceVector, sign: 1 | -1): void {
    const cur = reserved.get(node) ?? { cpus: 0, memMb: 0, gpus: 0 };
    cur.cpus += sign * r.cpus;
    cur.memMb += sign * r.memMb;
    cur.gpus += sign * r.gpus;
    reserved.set(node, cur);
  }

  function place(p: Placement): void {
    const { task, node } = p;
    const chunk = peek.chunk(task.id);
    const job = peek.job(task.jobId);
    if (!chunk || !job?.context.spec) return;
    const attempt = chunk.context.attempt + 1;
    const worker = workerId(task.jobId, task.index, attempt);
    inFlight.add(task.id);
    reserve(node, task.request, 1);
    const decision = {
      dru: p.dru,
      rank: p.rank,
      skipped: p.skipped.slice(0, 16).map((s) => ({ ...s })),
    };
    const command = {
      type: 'AssignChunk' as const,
      id: `assign:${worker}`,
      at: clock(),
      by,
      data: { attempt, node, worker, request: task.request, decision },
    };
    void queue
      .run(`chunk:${task.id}`, async () => {
        if (!lease.held() || stopped) return;
        const r = await runtime.execute(chunkBehaviour, task.id, command);
        if (!r.ok) return;
        metrics.placed();
        changed('chunk', task.id, r.state, r.lastSeq);
        await publishLaunch(job.context.spec!, r.state, r.lastSeq, node, task.request);
        if (stateName(peek.job(task.jobId)!) === 'queued')
          run([
            {
              entity: 'job',
              id: task.jobId,
              command: { type: 'StartJob', id: `start:${task.jobId}`, at: clock(), by },
            },
          ]);
      })
      .catch((err: unknown) => logger.error({ err, chunk: task.id }, 'placement failed'))
      .finally(() => {
        inFlight.delete(task.id);
        reserve(node, task.request, -1);
        requestRound();
      });
  }

  async function publishLaunch(
    spec: JobSpec,
    chunk: ChunkSnapshot,
    lastSeq: number,
    node: string,
    request: ResourceVector,
  ): Promise<void> {
    const launch = launchWork(spec, chunk, lastSeq, node, request);
    await work.publish(workSubject(node), packr.pack(launch), `launch:${launch.worker}`);
  }

  // Heartbeats: a node whose agent stops answering is lost; its attempts are retried elsewhere.
  const heard = new Map<string, number>();
  const reported = new Map<string, ReadonlySet<string>>();
  const startedAt = clock();
  const hbSub = nc.subscribe(HEARTBEAT_WILDCARD, {
    callback: (_err, m) => {
      try {
        const hb = JSON.parse(m.string()) as Heartbeat;
        heard.set(hb.node, clock());
        reported.set(hb.node, new Set(hb.workers));
      } catch {
        // a malformed heartbeat is no sign of life
      }
    },
  });
  const nodeLostMs = opts.nodeLostMs ?? 10_000;
  const heardFrom: Heard = {
    at: heard,
    workers: reported,
    missingSince: new Map(),
    since: startedAt,
  };
  const watchdog = setInterval(() => {
    if (!live || !lease.held()) return;
    if (missed) sweep(); // actions skipped while the lease renewal was late
    run(watchNodes(ruleContext(), index, heardFrom, nodeLostMs));
    requestRound(); // backoffs expire and reasons refresh with time alone
  }, 1000);

  // Fold the whole log, then go live: sweep every open entity once (a takeover finishes what
  // the previous leader left), republish launches that may have been lost with it.
  const caughtUpAt = await eventLog.lastSeq();
  const tail = eventLog.tail({ fromSeq: 1 });
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (caughtUpAt === 0) markCaughtUp();
  const userOf = (jobId: string) => peek.job(jobId)?.context.spec?.user;
  const requestOf = (w: string) => {
    const worker = peek.worker(w);
    const job = worker ? peek.job(worker.context.jobId) : undefined;
    const spec = job?.context.spec;
    return worker && spec
      ? { cpus: spec.cpus, memMb: worker.context.memLimitMb, gpus: spec.gpus }
      : undefined;
  };
  const tailing = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item)) {
        logger.error({ seq: item.seq, subject: item.subject }, 'corrupt message skipped');
      } else {
        const where = parseEventSubject(item.recorded.subject);
        if (where) {
          const seen = runtime.observe(
            behaviours[where.entity] as EntityBehaviour<unknown, unknown>,
            where.id,
            item as RecordedEvent,
          );
          if (seen)
            changed(
              where.entity,
              where.id,
              seen.after,
              item.type === 'job.submitted' ? item.recorded.seq : undefined,
            );
          index.usage(item as RecordedEvent, userOf, requestOf);
        }
      }
      const seq = isCorrupt(item) ? item.seq : item.recorded.seq;
      metrics.applied(seq, isCorrupt(item) ? undefined : (item as RecordedEvent), live);
      if (!live && seq >= caughtUpAt) markCaughtUp();
    }
  })();
  await caughtUp;
  live = true;
  sweep();
  for (const [id, c] of index.live) {
    const chunk = peek.chunk(id);
    const spec = peek.job(c.jobId)?.context.spec;
    const loaded = runtime.peek(chunkBehaviour, id);
    if (chunk && spec && loaded && stateName(chunk) === 'assigned' && chunk.context.worker) {
      publishLaunch(spec, chunk, loaded.lastSeq, c.node, chunk.context.request!).catch(
        (err: unknown) => logger.error({ err, chunk: id }, 'relaunch not published'),
      );
    }
  }
  scheduleRules();
  requestRound();
  logger.info(
    { epoch: lease.epoch, events: caughtUpAt, openJobs: index.openJobs.size },
    'scheduler leads',
  );

  const intake = await consumeIntake(nc, logger, (jobId, spec) => submit(jobId, spec), peek);

  async function submit(jobId: string, spec: JobSpec): Promise<void> {
    const step = async (a: Action) => {
      if (a.entity === 'kill') return;
      await queue.run(`${a.entity}:${a.id}`, async () => {
        if (!lease.held()) throw new Error('not leading'); // the intake redelivers it to the leader
        const behaviour = behaviours[a.entity] as EntityBehaviour<unknown, unknown>;
        const r = await runtime.execute(behaviour, a.id, a.command as never);
        if (r.ok && r.events.length > 0) changed(a.entity, a.id, r.state, r.lastSeq);
      });
    };
    const { first, chunks } = submissionSteps(ruleContext(), jobId, spec);
    for (const a of first) await step(a);
    await Promise.all(chunks.map(step));
  }

  return {
    epoch: lease.epoch,
    lost: lease.lost,
    async stop() {
      stopped = true;
      clearInterval(watchdog);
      hbSub.unsubscribe();
      await intake.stop();
      await queue.idle();
      await tail.stop();
      await tailing.catch(() => undefined);
      await lease.release();
    },
  };
}
