import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  ErrorCodes,
  HEARTBEAT_WILDCARD,
  SchedulerError,
  HeartbeatSchema,
  isCorrupt,
  type EventLog,
  type Tail,
} from '../events/index.js';
import {
  fairshareProjection,
  usageProjection,
  type FairshareState,
  type Json,
  type UsageState,
} from '../projections/index.js';
import { awaitCatchUp } from './catch-up.js';
import { archiveScopeOf } from './read-retention.js';
import { applyHeartbeat, emptyReadModel, type ReadModel } from './read-model.js';
import { startRetainedModel } from './retained-model.service.js';
import { plainReadModel, restoreReadModel, type PlainReadModel } from './read-model-snapshot.js';
import {
  openStartupSnapshots,
  startSnapshotTimer,
  type StartupSnapshots,
} from './startup-snapshot.jetstream.js';

/** The read model kept current: replayed from the log's start, then fed by its live tail. */
export interface LiveModel {
  readonly model: ReadModel;
  /** The fair-share queue's state (the projection `drover fairshare` folds): priority overrides list what they delay from it. */
  readonly fairshare: FairshareState;
  /** The usage projection (`drover usage`): `submit --mem auto` and `explain` decide from its peaks. */
  readonly usage: UsageState;
  /** Resolves once everything up to stream sequence `seq` is folded in (or rejects on timeout). */
  reach(seq: number, timeoutMs?: number): Promise<void>;
  /** What the retention let go of and holds for later (tests, metrics). */
  readonly retention: { readonly retired: number; readonly waiting: number };
  /** Polls `predicate` on the model until it holds; false on timeout. */
  until(predicate: (m: ReadModel) => boolean, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

const POLL_MS = 20;

/** Start-up snapshot options of the live model (tests and benches set their own). */
export interface LiveModelSnapshotOptions {
  /** Where snapshots live (default: KV `drover_projections` on `nc`); null: none. */
  readonly snapshots?: StartupSnapshots | null;
  /** Save every this many ms when `minEvents` were folded since the last save. */
  readonly everyMs?: number;
  readonly minEvents?: number;
  /** Give up start-up after this long without progress (default `CATCH_UP_STALL_MS`). */
  readonly stallMs?: number;
  /**
   * How long a finished job stays in the model after it ended (`ReadRetention`; default
   * `Infinity`, every job: the services set `DEFAULT_READ_RETENTION_MS` or the operator's).
   */
  readonly retainMs?: number;
  /** The clock the retention compares end times with (default `Date.now`). */
  readonly clock?: () => number;
}

/** What the live model's snapshot holds: the read model and the two projections beside it. */
interface LiveModelSnapshot {
  readonly model: PlainReadModel;
  readonly fairshare: Json;
  readonly usage: Json;
}

/** The read model and its projections as they stand (a consistent state at `model.seq`). */
function takeSnapshot(model: ReadModel, fairshare: FairshareState, usage: UsageState) {
  const state: LiveModelSnapshot = {
    model: plainReadModel(model),
    fairshare: fairshareProjection.snapshot(fairshare),
    usage: usageProjection.snapshot(usage),
  };
  return { seq: model.seq, state };
}

/** The state a snapshot describes; undefined (with a warning) when it is not one. */
function restoreSnapshot(state: unknown, logger: Logger) {
  try {
    const s = state as LiveModelSnapshot;
    return {
      model: restoreReadModel(s.model),
      fairshare: fairshareProjection.restore(s.fairshare),
      usage: usageProjection.restore(s.usage),
    };
  } catch (err) {
    logger.warn({ err }, 'read model snapshot unusable: folding the log from its start');
    return undefined;
  }
}

/**
 * Start the live read model: from the latest start-up snapshot (or the log's start), tail the
 * log merged with the part of its archive the retention keeps (compacted jobs that ended within
 * it stay listed) and listen to heartbeats. Resolves
 * once it has caught up with the log as it stood at the start; saves a snapshot periodically and
 * on stop.
 */
export async function startLiveModel(
  nc: NatsConnection,
  eventLog: EventLog,
  logger: Logger,
  opts: LiveModelSnapshotOptions = {},
): Promise<LiveModel> {
  const snapshots =
    opts.snapshots === undefined
      ? await openStartupSnapshots(nc, 'read-model', logger)
      : opts.snapshots;
  const loaded = await snapshots?.load();
  const restored = loaded && restoreSnapshot(loaded.state, logger);
  const model = restored?.model ?? emptyReadModel();
  const fairshare = restored?.fairshare ?? fairshareProjection.initial();
  const usage = restored?.usage ?? usageProjection.initial();
  if (restored) logger.info({ seq: model.seq }, 'read model restored from its start-up snapshot');
  const clock = opts.clock ?? Date.now;
  const retainMs = opts.retainMs ?? Infinity;
  const retained = startRetainedModel(model, { retainMs, clock });
  const { retention } = retained;
  // Archived jobs that ended before the retention are not folded at all (start-up stays flat
  // in the archive's size); `show`, `explain` and `logs` read them from the log on demand.
  const archive = archiveScopeOf(retainMs, clock());
  const tail: Tail = eventLog.tail({ fromSeq: model.seq + 1, archive });
  const loop = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item)) {
        model.seq = Math.max(model.seq, item.seq);
        logger.warn({ seq: item.seq, subject: item.subject }, 'corrupt event skipped');
        continue;
      }
      // The projections fold every event; the model skips those of jobs it let go of.
      fairshareProjection.apply(fairshare, item);
      usageProjection.apply(usage, item);
      retained.apply(item);
    }
  })().catch((err: unknown) => logger.error({ err }, 'read model tail failed'));
  const hb: Subscription = nc.subscribe(HEARTBEAT_WILDCARD, {
    callback: (err, msg) => {
      if (err) return;
      const parsed = HeartbeatSchema.safeParse(safeJson(msg.string()));
      if (parsed.success) applyHeartbeat(model, parsed.data);
    },
  });
  const until = async (predicate: (m: ReadModel) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (predicate(model)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  };
  // Set once caught up (stop() may run before: a failed start).
  const saver: { timer?: ReturnType<typeof startSnapshotTimer> | null } = {};
  const live: LiveModel = {
    model,
    fairshare,
    usage,
    retention,
    until,
    async reach(seq, timeoutMs = 10_000) {
      if (!(await until((m) => m.seq >= seq, timeoutMs))) {
        throw new SchedulerError(
          ErrorCodes.Timeout,
          `read model did not reach seq ${seq} within ${timeoutMs} ms`,
        );
      }
    },
    async stop() {
      retained.stop();
      saver.timer?.stop();
      hb.unsubscribe();
      await tail.stop();
      await loop;
      await saver.timer?.saveNow();
    },
  };
  try {
    await awaitCatchUp({
      what: 'read model',
      target: await eventLog.lastSeq(),
      // Archived history left out still counts as passed: its last events may be the log's last.
      position: () => Math.max(model.seq, tail.passed()),
      logger,
      ...(opts.stallMs !== undefined && { stallMs: opts.stallMs }),
    });
  } catch (err) {
    await live.stop();
    throw err;
  }
  const timer = (saver.timer =
    snapshots &&
    startSnapshotTimer({
      position: () => model.seq,
      take: () => takeSnapshot(model, fairshare, usage),
      snapshots,
      logger,
      everyMs: opts.everyMs ?? 5 * 60_000,
      minEvents: opts.minEvents ?? 10_000,
      savedSeq: loaded?.seq ?? 0,
    }));
  // A long fold is saved at once: the next start does not pay it again.
  if (timer && model.seq - (loaded?.seq ?? 0) >= (opts.minEvents ?? 10_000)) void timer.saveNow();
  return live;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
