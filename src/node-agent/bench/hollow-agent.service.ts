import type { ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  createEntityRuntime,
  createKeyedQueue,
  nodeBehaviour,
  type EntityRuntime,
  type KeyedQueue,
} from '../../actors/index.js';
import {
  ErrorCodes,
  SchedulerError,
  WORK_WILDCARD,
  heartbeatSubject,
  type EventLog,
  type Heartbeat,
  type LaunchWork,
  type Resources,
} from '../../events/index.js';
import { consumeWork, processWork } from '../work-queue.jetstream.js';
import { classifyExit, outcomeMessage, type ProcessOutcome } from '../supervisor/index.js';
import type { KillReason } from '../supervisor/index.js';
import {
  launchStillWanted,
  metaOf,
  notStarted,
  reportEnd,
  reportLaunching,
  reportStarted,
  type AttemptRef,
  type ReportContext,
} from '../workers.js';

export interface HollowOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  /** Nodes are named `<prefix>-<n>`, n from 1; the durable consumer is `hollow-<prefix>`. */
  readonly prefix: string;
  readonly count: number;
  /** What each hollow node advertises. */
  readonly capacity: Resources;
  /** How long every hollow worker "runs" before it exits 0. */
  readonly durationMs: number;
  readonly logger: Logger;
  readonly heartbeatMs?: number;
  /** Registrations in flight at once (default 64). */
  readonly registerWindow?: number;
  /** Work messages in flight at once (default 4,096). */
  readonly maxAckPending?: number;
  readonly clock?: () => number;
}

/** What the hollow nodes did so far (for benchmarks and tests). */
export interface HollowStats {
  /** Launch messages taken (each once, re-deliveries excepted). */
  readonly launches: number;
  /** Workers reported started (`worker.started` + `chunk.started` appended). */
  readonly started: number;
  readonly exited: number;
  readonly killed: number;
  /** Workers "running" now. */
  readonly running: number;
}

export interface HollowFarm {
  readonly nodes: readonly string[];
  stats(): HollowStats;
  /** Stop taking work, cancel pending exits (their workers stay running in the log), go offline. */
  stop(): Promise<void>;
}

interface HollowWorker {
  readonly node: string;
  readonly ref: AttemptRef;
  timer?: NodeJS.Timeout;
}

/**
 * Benchmark and test stand-in, not a deployable part: no command or service in `src` starts it
 * (it lives under `node-agent/bench/` so nobody mistakes it for one). The scheduler benchmark
 * (`test/support/bench-hollow.ts`) and the hollow-node farm test start it.
 *
 * Hollow nodes, like kubemark's: `count` nodes that register, turn ready and heartbeat as real
 * agents do, and take launches and kills through the agent's own commands (`reportLaunching`,
 * `reportStarted`, `reportEnd` from workers.ts), so the log reads exactly as with real agents,
 * but no process is started: a worker "runs" for `durationMs`, then exits 0 with zero usage;
 * a kill ends it at once. They exist to load the scheduler with a farm this machine cannot hold.
 *
 * All nodes share one entity runtime, one heartbeat timer and ONE durable pull consumer,
 * `hollow-<prefix>`, on DROVER_WORK. Subject wildcards match whole tokens only
 * (`drover.work.<prefix>-*` is a literal, not a pattern), and DROVER_WORK is a workqueue
 * stream, whose consumers must not overlap: so the consumer filters `drover.work.>` and a
 * hollow farm cannot share its stream with real agents (their consumers would overlap it).
 * Work for a node that is not one of ours is logged and terminated.
 */
export async function startHollowNodes(opts: HollowOptions): Promise<HollowFarm> {
  const { nc, prefix, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const runtime = createEntityRuntime({
    eventLog: opts.eventLog,
    cache: true,
    onAnomaly: (subject, a) => logger.warn({ subject, kind: a.kind }, 'history anomaly'),
  });
  const queue = createKeyedQueue();
  const nodes = Array.from({ length: opts.count }, (_, i) => `${prefix}-${i + 1}`);
  const contexts = new Map(nodes.map((node) => [node, nodeContext(node, runtime, queue, opts)]));
  const incarnation = randomUUID();
  const live = new Map<string, HollowWorker>();
  const counts = { launches: 0, started: 0, exited: 0, killed: 0 };
  let stopping = false;

  await registerAll(contexts, incarnation, opts);
  const beat = () => {
    const at = clock();
    const byNode = new Map<string, string[]>(nodes.map((n) => [n, []]));
    for (const [id, w] of live) byNode.get(w.node)?.push(id);
    for (const [node, workers] of byNode) {
      const hb: Heartbeat = { node, incarnation, at, workers, draining: stopping };
      nc.publish(heartbeatSubject(node), JSON.stringify(hb));
    }
  };
  beat();
  const timer = setInterval(beat, opts.heartbeatMs ?? 1000);

  const end = (id: string, outcome: ProcessOutcome) => {
    const w = live.get(id);
    if (!w) return Promise.resolve();
    clearTimeout(w.timer);
    live.delete(id);
    const ctx = contexts.get(w.node)!;
    return queue
      .run(id, () => reportEnd(ctx, w.ref, outcome))
      .then(() => {
        if (outcome.cause === 'Succeeded') counts.exited++;
        else counts.killed++;
      });
  };

  const launch = async (ctx: ReportContext, w: LaunchWork) => {
    counts.launches++;
    if (live.has(w.worker)) return;
    if (!(await reportLaunching(ctx, w))) return;
    const ref: AttemptRef = {
      workerId: w.worker,
      jobId: w.jobId,
      chunk: w.chunk,
      attempt: w.attempt,
    };
    if (!(await launchStillWanted(ctx, w))) {
      await queue.run(w.worker, () => reportEnd(ctx, ref, notStarted(w)));
      counts.killed++;
      return;
    }
    const pid = 1_000_000 + (counts.started % 1_000_000);
    const worker: HollowWorker = { node: w.node, ref };
    live.set(w.worker, worker);
    await reportStarted(ctx, w, pid, pid);
    counts.started++;
    if (stopping || !live.has(w.worker)) return;
    worker.timer = setTimeout(() => {
      end(w.worker, EXITED).catch((err: unknown) =>
        logger.error({ err, worker: w.worker }, 'hollow exit failed'),
      );
    }, opts.durationMs);
  };

  const kill = (id: string, reason: KillReason) => {
    return live.has(id) ? end(id, killed(reason)) : Promise.resolve();
  };

  const messages = await consumeAllWork(nc, prefix, opts.maxAckPending ?? 4096);
  const consuming = processWork(
    messages,
    logger,
    (work, m) => {
      const node = m.subject.slice(m.subject.lastIndexOf('.') + 1);
      const ctx = contexts.get(node);
      if (!ctx) {
        logger.error({ node, seq: m.seq }, 'work for a node that is not hollow dropped');
        return undefined;
      }
      return () => (work.kind === 'launch' ? launch(ctx, work) : kill(work.worker, work.reason));
    },
    queue,
  );
  logger.info({ prefix, count: nodes.length }, 'hollow nodes ready');

  return {
    nodes,
    stats: () => ({ ...counts, running: live.size }),
    async stop() {
      stopping = true;
      await messages.close();
      await consuming;
      for (const w of live.values()) clearTimeout(w.timer);
      await queue.idle();
      clearInterval(timer);
      await forEachLimited(nodes, opts.registerWindow ?? 64, (node) =>
        runtime.execute(nodeBehaviour, node, {
          type: 'MarkOffline',
          ...metaOf(contexts.get(node)!, node, `${incarnation}>offline`),
          data: { reason: 'hollow node stopped' },
        }),
      );
    },
  };
}

function nodeContext(
  node: string,
  runtime: EntityRuntime,
  queue: KeyedQueue,
  opts: HollowOptions,
): ReportContext {
  return {
    by: { kind: 'agent', id: node },
    runtime,
    queue,
    clock: opts.clock ?? Date.now,
    logger: opts.logger,
  };
}

/** `node.registered` and `node.ready` for every node, a window of them at a time. */
async function registerAll(
  contexts: ReadonlyMap<string, ReportContext>,
  incarnation: string,
  opts: HollowOptions,
): Promise<void> {
  const { capacity } = opts;
  await forEachLimited([...contexts.keys()], opts.registerWindow ?? 64, async (node) => {
    const ctx = contexts.get(node)!;
    const meta = (tag: string) => metaOf(ctx, node, `${incarnation}>${tag}`);
    const data = {
      cpus: capacity.cpus,
      memMb: capacity.memMb,
      gpus: capacity.gpus,
      hostname: `hollow-${node}`,
      labels: { hollow: 'true' },
      incarnation,
    };
    for (const command of [
      { type: 'RegisterNode' as const, ...meta('register'), data },
      { type: 'MarkReady' as const, ...meta('ready') },
    ]) {
      const r = await ctx.runtime.execute(nodeBehaviour, node, command);
      if (!r.ok)
        throw new SchedulerError(
          ErrorCodes.Refused,
          `hollow node ${node}: ${command.type} refused: ${r.rejection.message}`,
        );
    }
  });
}

async function forEachLimited<T>(
  items: readonly T[],
  window: number,
  op: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(window, items.length) }, async () => {
    while (next < items.length) await op(items[next++] as T);
  });
  await Promise.all(lanes);
}

/** The outcome of a hollow worker that ran its time: exit 0, no usage. */
const EXITED: ProcessOutcome = {
  exitCode: 0,
  signal: null,
  cause: 'Succeeded',
  peakRssMb: 0,
  cpuSeconds: 0,
  wallSeconds: 0,
  message: 'exit code 0 (hollow)',
};

/** The outcome of a hollow worker killed for `reason`: as if SIGTERM ended it at once. */
function killed(reason: KillReason): ProcessOutcome {
  const facts = { exitCode: null, signal: 'SIGTERM', action: reason };
  return {
    ...facts,
    cause: classifyExit(facts),
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
    message: `${outcomeMessage({ ...facts, memLimitMb: 0, peakRssMb: 0 })} (hollow)`,
  };
}

/**
 * The one durable consumer of all hollow nodes (see `startHollowNodes` on why it filters the
 * whole work stream).
 */
function consumeAllWork(
  nc: NatsConnection,
  prefix: string,
  maxAckPending: number,
): Promise<ConsumerMessages> {
  return consumeWork(nc, {
    name: `hollow-${prefix}`,
    filter: WORK_WILDCARD,
    maxAckPending,
    batch: 1024,
  });
}
