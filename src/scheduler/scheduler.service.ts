import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import {
  behaviours,
  chunkBehaviour,
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
  type LaunchWork,
  type RecordedEvent,
} from '../events/index.js';
import { FarmIndex } from './farm-index.js';
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
import {
  chunkRules,
  clearChunks,
  hungActions,
  jobRules,
  nodeLostActions,
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
}

export interface Scheduler {
  readonly epoch: number;
  /** Resolves when this scheduler stops leading (deposed or stopped). */
  readonly lost: Promise<void>;
  stop(): Promise<void>;
}

const packr = new Packr({ useRecords: false });

/**
 * The scheduler service: waits for the lease, folds the whole log into memory, then reacts to
 * every change level-triggered (what each entity's state asks for), places waiting chunks in
 * fair-share order, takes submissions from the intake and watches agents' heartbeats. Every write
 * carries its fencing epoch; a deposed scheduler's writes are refused by the entities.
 */
export async function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { nc, eventLog, logger } = opts;
  const clock = opts.clock ?? Date.now;
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
  });
  const index = new FarmIndex(config.halfLifeS);
  const queue = createKeyedQueue();
  const js = jetstream(nc);
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
    requestRound();
    if (live) scheduleRules();
  }

  function exec(a: Action): Promise<void> {
    if (a.entity === 'kill') {
      const work: KillWork = { kind: 'kill', worker: a.worker, reason: a.reason };
      return js
        .publish(workSubject(a.node), packr.pack(work), { msgID: `kill:${a.worker}` })
        .then(() => undefined);
    }
    const behaviour = behaviours[a.entity] as EntityBehaviour<unknown, unknown>;
    return queue.run(`${a.entity}:${a.id}`, async () => {
      if (!lease.held() || stopped) return;
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

  const largestNode = (): ResourceVector => {
    const l = { cpus: 0, memMb: 0, gpus: 0 };
    for (const id of index.nodes) {
      const n = peek.node(id);
      if (!n || ['lost', 'offline', 'none'].includes(stateName(n))) continue;
      l.cpus = Math.max(l.cpus, n.context.cpus);
      l.memMb = Math.max(l.memMb, n.context.memMb);
      l.gpus = Math.max(l.gpus, n.context.gpus);
    }
    return l;
  };
  const ruleContext = (): RuleContext => ({
    peek,
    by,
    now: clock(),
    largestNode: largestNode(),
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
    const now = clock();
    const reasons = now - lastReasonsAt >= 1000;
    if (reasons) lastReasonsAt = now;
    try {
      const out = planRound({ peek, index, now, config, reserved, inFlight, reasons });
      for (const p of out.placements) place(p);
      for (const [jobId, note] of out.pending) notePending(jobId, note, out.queueLength, now);
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
        changed('chunk', task.id, r.state, r.lastSeq);
        await publishLaunch(job.context.spec!, r.state, r.lastSeq, worker, node, task.request);
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
    worker: string,
    node: string,
    request: ResourceVector,
  ): Promise<void> {
    const c = chunk.context;
    const work: LaunchWork = {
      kind: 'launch',
      worker,
      jobId: c.jobId,
      chunk: c.index,
      chunks: c.total,
      attempt: c.attempt,
      node,
      command: spec.command,
      env: spec.env,
      request,
      ...(spec.cwd !== undefined && { cwd: spec.cwd }),
      ...(spec.timeoutS !== undefined && { timeoutS: spec.timeoutS }),
      ...(c.checkpoint !== undefined && { checkpoint: c.checkpoint }),
      chunkState: { snapshot: toPlain(chunk), lastSeq },
    };
    await js.publish(workSubject(node), packr.pack(work), { msgID: `launch:${worker}` });
  }

  function notePending(
    jobId: string,
    note: {
      reasons: import('../events/index.js').PendingReason[];
      rank?: number;
      ahead: { user: string; dru: number }[];
    },
    queueLength: number,
    now: number,
  ): void {
    const job = peek.job(jobId);
    if (!job) return;
    const before = job.context.pending?.reasons.map((r) => r.code).join(',');
    const after = note.reasons.map((r) => r.code).join(',');
    if (before === after) return;
    const data = {
      reasons: note.reasons.slice(0, 20),
      ahead: note.ahead,
      queueLength,
      ...(note.rank !== undefined && { rank: note.rank }),
    };
    run([
      {
        entity: 'job',
        id: jobId,
        command: { type: 'NotePending', id: `pending:${jobId}@${now}`, at: now, by, data },
      },
    ]);
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
  const missingSince = new Map<string, number>();
  const watchdog = setInterval(() => {
    if (!live || !lease.held()) return;
    const ctx = ruleContext();
    for (const id of index.nodes) {
      const n = peek.node(id);
      const state = n ? stateName(n) : 'none';
      if (['lost', 'offline', 'none'].includes(state)) continue;
      const last = heard.get(id) ?? startedAt;
      if (ctx.now - last > nodeLostMs) {
        run(
          nodeLostActions(
            ctx,
            id,
            index.liveOn(id),
            `no heartbeat for ${Math.round((ctx.now - last) / 1000)} s`,
          ),
        );
      } else if (reported.has(id)) {
        run(hungActions(ctx, id, index.liveOn(id), reported.get(id)!, missingSince, nodeLostMs));
      }
      if (ctx.now - last <= nodeLostMs && state === 'draining' && index.liveOn(id).length === 0) {
        run([
          {
            entity: 'node',
            id,
            command: { type: 'ConfirmDrained', id: `drained:${id}@${ctx.now}`, at: ctx.now, by },
          },
        ]);
      }
    }
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
      if (!live && seq >= caughtUpAt) markCaughtUp();
    }
  })();
  await caughtUp;
  live = true;
  for (const jobId of index.openJobs) {
    dirty.add(`job:${jobId}`);
    const job = peek.job(jobId)!;
    for (let i = 0; i < job.context.chunks.total; i++) dirty.add(`chunk:${chunkId(jobId, i)}`);
  }
  for (const [id, c] of index.live) {
    const chunk = peek.chunk(id);
    const spec = peek.job(c.jobId)?.context.spec;
    const loaded = runtime.peek(chunkBehaviour, id);
    if (chunk && spec && loaded && stateName(chunk) === 'assigned' && chunk.context.worker) {
      void publishLaunch(
        spec,
        chunk,
        loaded.lastSeq,
        chunk.context.worker,
        c.node,
        chunk.context.request!,
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
    const user: Actor = { kind: 'user', id: spec.user };
    const at = clock();
    const step = async (entity: 'job' | 'chunk', id: string, command: unknown) => {
      await queue.run(`${entity}:${id}`, async () => {
        if (!lease.held()) throw new Error('not leading');
        const r = await runtime.execute(
          behaviours[entity] as EntityBehaviour<unknown, unknown>,
          id,
          command as never,
        );
        if (r.ok && r.events.length > 0) changed(entity, id, r.state, r.lastSeq);
      });
    };
    await step('job', jobId, {
      type: 'SubmitJob',
      id: `submit:${jobId}`,
      at,
      by: user,
      data: spec,
    });
    if (spec.parent)
      await step('job', spec.parent, {
        type: 'AddChild',
        id: `child:${jobId}`,
        at,
        by,
        data: { childId: jobId },
      });
    await step('job', jobId, { type: 'QueueJob', id: `queue:${jobId}`, at, by });
    await Promise.all(
      Array.from({ length: spec.chunks }, (_, index) =>
        step('chunk', chunkId(jobId, index), {
          type: 'CreateChunk',
          id: `create:${jobId}:${index}`,
          at,
          by,
          data: { jobId, index, total: spec.chunks },
        }),
      ),
    );
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
