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
  type UsageState,
} from '../projections/index.js';
import { applyEvent, applyHeartbeat, emptyReadModel, type ReadModel } from './read-model.js';

/** The read model kept current: replayed from the log's start, then fed by its live tail. */
export interface LiveModel {
  readonly model: ReadModel;
  /** The fair-share queue's state (the projection `drover fairshare` folds): priority overrides list what they delay from it. */
  readonly fairshare: FairshareState;
  /** The usage projection (`drover usage`): `submit --mem auto` and `explain` decide from its peaks. */
  readonly usage: UsageState;
  /** Resolves once everything up to stream sequence `seq` is folded in (or rejects on timeout). */
  reach(seq: number, timeoutMs?: number): Promise<void>;
  /** Polls `predicate` on the model until it holds; false on timeout. */
  until(predicate: (m: ReadModel) => boolean, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

const POLL_MS = 20;

/**
 * Start the live read model: tail the whole log from sequence 1 (a replay that never ends) and
 * listen to heartbeats. Resolves once it has caught up with the log as it stood at the start.
 */
export async function startLiveModel(
  nc: NatsConnection,
  eventLog: EventLog,
  logger: Logger,
): Promise<LiveModel> {
  const model = emptyReadModel();
  const fairshare = fairshareProjection.initial();
  const usage = usageProjection.initial();
  const tail: Tail = eventLog.tail({ fromSeq: 1 });
  const loop = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item)) {
        model.seq = Math.max(model.seq, item.seq);
        logger.warn({ seq: item.seq, subject: item.subject }, 'corrupt event skipped');
      } else {
        applyEvent(model, item);
        fairshareProjection.apply(fairshare, item);
        usageProjection.apply(usage, item);
      }
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
  const live: LiveModel = {
    model,
    fairshare,
    usage,
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
      hb.unsubscribe();
      await tail.stop();
      await loop;
    },
  };
  await live.reach(await eventLog.lastSeq(), 120_000);
  return live;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
