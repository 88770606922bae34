import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  createEntityRuntime,
  createKeyedQueue,
  type EntityRuntime,
  type KeyedQueue,
} from '../actors/index.js';
import { JetStreamPublisher, type Actor, type EventLog } from '../events/index.js';
import type { Backoff, FairShareConfig } from '../policy/index.js';
import { ActionRunner } from './action-runner.service.js';
import { changeOf, peekOf, type Change } from './entity-view.js';
import { FarmIndex } from './farm-index.js';
import { Launcher } from './launcher.service.js';
import { PlacementLoop, type AdmissionStep } from './placement-loop.service.js';
import { ReservationBook } from './reservation-book.js';
import { PromiseKeeper, type BrokenPromise } from './promise-keeper.js';
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
  readonly metrics?: SchedulerMetrics;
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
  readonly launcher: LauncherLike;
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
  const actions = new ActionRunner({ runtime, queue, work, canWrite, changed, logger });
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
  const promises = new PromiseKeeper({
    ...{ runtime, by, canWrite, logger },
    ...(o.onPromiseBroken && { onPromiseBroken: o.onPromiseBroken }),
  });
  const placement = new PlacementLoop({
    ...{ peek, index, config, clock, canWrite, context, run, logger },
    gate: (now) => reservations.gate(peek, index, now),
    promised: () => promises.promised(),
    assign: (p) => launcher.assign(p),
    ...(o.metrics && { metrics: o.metrics }),
    ...(o.admission && { admission: o.admission }),
  });
  const sweep = () => {
    actions.missed = false;
    pump.sweep(index.openJobs);
    placement.request();
  };

  function changed(c: Change): void {
    if (c.entity === 'job') index.job(c.id, c.state, c.seq);
    else if (c.entity === 'chunk') index.chunk(c.id, c.state);
    else if (c.entity === 'node') index.node(c.id, c.state);
    reservations.observe(c);
    promises.observe(c);
    pump.mark(c);
    placement.requestIfChanged();
    if (live) pump.schedule();
  }

  return {
    ...{ runtime, index, peek, queue, actions, pump, placement, launcher, context, changed, sweep },
    promises,
    goLive: () => {
      live = true;
    },
  };
}
