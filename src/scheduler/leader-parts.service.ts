import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  behaviours,
  createEntityRuntime,
  createKeyedQueue,
  createdChunkPacker,
  policyBehaviour,
  type EntityRuntime,
  type KeyedQueue,
} from '../actors/index.js';
import {
  JetStreamPublisher,
  POLICY_IDS,
  eventSubject,
  type Actor,
  type Entity,
  type EventLog,
  type RecordedEvent,
} from '../events/index.js';
import {
  DEFAULT_PREEMPTION,
  fairShareConfigOf,
  type Backoff,
  type FairShareConfig,
  type PreemptionParams,
} from '../policy/index.js';
import { ActionRunner } from './action-runner.service.js';
import { changeOf, peekOf, type Change } from './entity-view.js';
import { FarmIndex } from './farm-index.js';
import { closeAfter } from './job-close.js';
import type { HeapRelease } from './heap-release.service.js';
import { Launcher } from './launcher.service.js';
import { BURST, PendingNotes } from './pending-notes.js';
import { PlacementLoop, type AdmissionStep } from './placement-loop.service.js';
import { ReservationBook } from './reservation-book.js';
import { LaunchWindow, quotaGateFor } from './quota-gate.js';
import { PromiseKeeper, type BrokenPromise } from './promise-keeper.js';
import { Preemptor } from './preemptor.js';
import { Retirement, jobOfTreeEntity, reloadTree } from './retirement.js';
import { RulesPump } from './rules-pump.service.js';
import type { Peek, RuleContext } from './rules.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

export interface LeaderInput {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  readonly clock: () => number;
  /** This scheduler on its events, with its lease's fencing epoch. */
  readonly by: Actor;
  readonly config: FairShareConfig;
  /** True while this scheduler leads and runs. */
  readonly canWrite: () => boolean;
  readonly backoff?: Backoff;
  readonly admission?: readonly AdmissionStep[];
  /** Told of start-by promises the leader broke (see `onPromiseBroken`). */
  readonly onPromiseBroken?: (broken: readonly BrokenPromise[]) => void;
  /** Preemption's guards (default `DEFAULT_PREEMPTION`). */
  readonly preemption?: Partial<PreemptionParams>;
  readonly metrics?: SchedulerMetrics;
  /** Told of every new state after the index folded it (the timekeeper's index of runs). */
  readonly observe?: (c: Change) => void;
  /** How long a finished job stays in memory (default `RETIRE_AFTER_MS`). */
  readonly retireAfterMs?: number;
  /** Gives the heap back after a burst of pending notes (`heapRelease`; the CLI's process only). */
  readonly releaseHeap?: HeapRelease;
  /** Pipelining (see `SchedulerOptions.pipeline`). */
  readonly pipeline?: boolean;
}

/** The leader's parts, wired to each other; the service adds the lease, log, intake and tick. */
export interface LeaderParts {
  readonly runtime: EntityRuntime;
  readonly index: FarmIndex;
  readonly peek: Peek;
  readonly queue: KeyedQueue;
  readonly actions: ActionRunner;
  readonly pump: RulesPump;
  readonly placement: PlacementLoop;
  /** Start-by promises: promised jobs first, kept or broken on the tick. */
  readonly promises: PromiseKeeper;
  /** Stops lower-priority work over its share when a promise could not otherwise be kept. */
  readonly preemptor: Preemptor;
  readonly launcher: LauncherLike;
  /** Users' launches in the last minute (fed from the tail: the launch throttle's count). */
  readonly launches: LaunchWindow;
  /** Lets go of finished jobs (on the tick); `recall` brings jobs back from the log. */
  readonly retirement: Retirement;
  /** Read jobs let go of (or never seen) from the log into memory again: the intake's references. */
  recall(jobIds: readonly string[]): Promise<void>;
  readonly context: () => RuleContext;
  /** Fold a new state into the index and tell the pump and the loop. */
  changed(c: Change): void;
  /** Every open entity to the rules again, and a round. */
  sweep(): void;
  /** From now on the rules run as changes come (before: only the index folds). */
  goLive(): void;
}

type LauncherLike = Pick<Launcher, 'relaunch'>;

/**
 * Wire the scheduler's parts: the entity runtime and the index it feeds, the action runner (the
 * one write path), the rules pump, the launcher and the placement loop. Who tells whom: every
 * new state goes through `changed` into the index, then marks the pump and may ask for a round.
 */
export function wireLeader(o: LeaderInput): LeaderParts {
  const { eventLog, logger, clock, by, config, canWrite } = o;
  let live = false;
  const runtime = createEntityRuntime({
    eventLog,
    cache: true,
    onAnomaly: (subject, a) => logger.warn({ subject, kind: a.kind }, 'history anomaly'),
    // A conflict's fresh read can get ahead of the tail, which then skips what it already holds:
    // without this, a chunk that succeeded meanwhile stayed "running" to the index and its job
    // never closed (seen under CPU load, 1 run in 2 of the hollow-node test).
    onRefresh: (entity, id, loaded) => changed(changeOf(entity, id, loaded.state, loaded.lastSeq)),
    // A later event of an entity let go of (Retirement): read it back, with its job's tree.
    onMiss: (entity, id, event) => missed(entity, id, event),
    // Queued chunks nothing has happened to are held as a number each (100,000 queued jobs).
    packers: { chunk: createdChunkPacker },
  });
  const index = new FarmIndex(config.halfLifeS);
  const peek = peekOf(runtime);
  const queue = createKeyedQueue();
  // Work messages go through the log's own publisher: a bounded window, no per-message timer.
  const work = new JetStreamPublisher(o.nc, 10_000);
  const context = (): RuleContext => ({
    peek,
    by,
    now: clock(),
    largestNode: index.largestNode(peek),
    ...(o.backoff && { backoff: o.backoff }),
  });
  const actions = new ActionRunner({
    ...{ runtime, queue, work, canWrite, changed, logger },
    followUp: closeAfter,
  });
  const run = actions.run.bind(actions);
  const pump = new RulesPump({ peek, dependents: index.dependents, context, run });
  const launcher = new Launcher({
    ...(o.metrics && { metrics: o.metrics }),
    runtime,
    queue,
    work,
    peek,
    by,
    clock,
    canWrite,
    changed,
    logger,
  });
  const reservations = new ReservationBook();
  // The fair-share policy in force: the log's latest version over the start-up config.
  const policyNow = () =>
    fairShareConfigOf(runtime.peek(policyBehaviour, POLICY_IDS.fairshare)?.state.context, config);
  const launches = new LaunchWindow();
  const promises = new PromiseKeeper({
    ...{ runtime, by, canWrite, logger },
    ...(o.onPromiseBroken && { onPromiseBroken: o.onPromiseBroken }),
  });
  const notes = new PendingNotes({
    ...{ peek, logger },
    exec: (a) => actions.exec(a),
    // Not while writing is paused (a late lease renewal): the notes were skipped, not written,
    // and a blocking collection would only delay the renewal further.
    drained: (n) => canWrite() && o.releaseHeap?.(`${n} pending notes written`, 'burst'),
  });
  o.metrics?.watchNotes(() => notes.unwritten);
  o.metrics?.watchJobs(peek.job);
  // The exclusions in force now, as a lookup that stays so (a round spread over turns reads the
  // policy of its start, whatever the log brings meanwhile).
  const exclusionsNow = () => {
    const ex = runtime.peek(policyBehaviour, POLICY_IDS.exclusions)?.state.context.exclusions;
    return (user: string) => (ex && Object.hasOwn(ex, user) ? ex[user] : undefined);
  };
  const standingExclusions = (user: string) => exclusionsNow()(user);
  const placement = new PlacementLoop({
    ...{ peek, index, config, clock, canWrite, context, logger },
    run: (a) => notes.offer(a),
    configNow: () => policyNow().config,
    gate: (now) => reservations.gate(peek, index, now),
    quotaGate: (now, inFlight) => quotaGateFor({ peek, index, runtime, launches }, inFlight, now),
    exclusionsNow,
    promised: () => promises.promised(),
    assign: (p) => launcher.assign(p),
    ...(o.pipeline && { pipeline: true }),
    ...(o.metrics && { metrics: o.metrics }),
    ...(o.admission && { admission: o.admission }),
    // A refresh over a large quiet queue (100,000 jobs: ~200 MB of RSS the idle scheduler kept).
    quietRound: (n) =>
      n >= BURST && canWrite() && o.releaseHeap?.(`quiet round over ${n} queued`, 'round'),
  });
  const preemption = { ...DEFAULT_PREEMPTION, ...o.preemption };
  const preemptor = new Preemptor({
    ...{ peek, index, runtime, by, canWrite, logger, standingExclusions },
    pending: () => promises.waitingStart(),
    reserved: () => placement.reserved,
    inFlight: () => placement.inFlight,
    config: () => policyNow().config,
    params: () => preemption,
    exec: (a) => actions.exec(a),
  });
  const retirement = new Retirement({
    ...{ runtime, peek, dependents: index.dependents, openJobs: index.openJobs },
    forgetJob: (id, job) => {
      index.forgetJob(id, job);
      pump.forget(id);
    },
    ...(o.retireAfterMs !== undefined && { afterMs: o.retireAfterMs }),
  });
  function missed(entity: Entity, id: string, event: RecordedEvent): void {
    const jobId = jobOfTreeEntity(entity, id);
    const seq = event.recorded.seq;
    const read =
      jobId !== undefined
        ? queue.run(`job:${jobId}`, () => reloadTree(runtime, jobId, { entity, id, seq }))
        : queue.run(`${entity}:${id}`, async () => {
            // Never let go of: a history whose first event the machine refuses (an anomaly).
            logger.warn({ entity, id, seq, type: event.type }, 'history anomaly');
            runtime.forget(eventSubject(entity, id));
            await runtime.load(behaviours[entity], id);
          });
    read.catch((err: unknown) => {
      actions.missed = true;
      logger.error({ err, entity, id }, 'read of an entity let go of failed');
    });
  }
  const recall = async (jobIds: readonly string[]) => {
    const gone = jobIds.filter((id) => peek.job(id) === undefined);
    await Promise.all(gone.map((id) => queue.run(`job:${id}`, () => reloadTree(runtime, id))));
  };
  const sweep = () => {
    actions.missed = false;
    pump.sweep(index.openJobs);
    placement.request();
  };

  function changed(c: Change): void {
    if (c.entity === 'job') {
      index.job(c.id, c.state, c.seq);
      retirement.note(c.id, c.state, clock());
    } else if (c.entity === 'chunk') index.chunk(c.id, c.state);
    else if (c.entity === 'node') index.node(c.id, c.state);
    else if (c.entity === 'policy' && c.id === POLICY_IDS.fairshare) {
      const now = policyNow();
      index.policyChanged(now.config.halfLifeS);
      logger.info({ version: now.version }, 'fair-share policy version in force');
    } else if (c.entity === 'policy')
      index.generation++; // quotas: held work may now fit
    // Reservations and promises change what a round decides or explains (a quiet queue's tick
    // skips its round while the generation stays).
    else if (c.entity === 'reservation' || c.entity === 'promise') index.generation++;
    reservations.observe(c);
    o.observe?.(c);
    promises.observe(c);
    pump.mark(c);
    placement.requestIfChanged();
    if (live) pump.schedule();
  }

  return {
    ...{ runtime, index, peek, queue, actions, pump, placement, launcher, context, changed, sweep },
    launches,
    promises,
    preemptor,
    retirement,
    recall,
    goLive: () => {
      live = true;
    },
  };
}
