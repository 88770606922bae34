import type { NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  createEntityRuntime,
  createKeyedQueue,
  nodeBehaviour,
  stateName,
  type NodeCommand,
} from '../actors/index.js';
import {
  eventSubject,
  heartbeatSubject,
  workSubject,
  type Actor,
  type EventLog,
  type Heartbeat,
  type NodeReading,
} from '../events/index.js';
import type { AgentMetricsFamily } from './agent-metrics.js';
import type { NodeCapacity } from './capacity.js';
import { startNodeSampler, type NodeSources } from './node-sampler.service.js';
import { readingOf } from './node-stats.js';
import { reconcile, type Reconciled } from './reconcile.js';
import { createSessionHost } from './session-host.service.js';
import { stopDisowned } from './disowned.js';
import { launchInTurn } from './launch-turn.js';
import { SlotGate } from './slot-gate.js';
import { createLossFence, lastLossSeq } from './loss-fence.js';
import { watchStanding } from './standing.service.js';
import { createEnvironmentCache, droverVersion } from './environment/index.js';
import { takeWork } from './work-queue.jetstream.js';
import { workerRecords } from './worker-records.js';
import { killWorker, metaOf, type WorkerContext } from './workers.js';

export interface AgentOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly node: string;
  readonly capacity: NodeCapacity;
  readonly labels?: Readonly<Record<string, string>>;
  /** Where run directories (logs, reports) and worker records live. */
  readonly stateDir: string;
  readonly logger: Logger;
  readonly heartbeatMs?: number;
  readonly sampleMs?: number;
  readonly sampleLogMs?: number;
  readonly clock?: () => number;
  /** Where launches, exits, the worker count and the node's readings go (absent: nowhere). */
  readonly metrics?: AgentMetricsFamily;
  /** Where the node is read from (default `/proc`); tests pass a recorded sequence. */
  readonly nodeSources?: NodeSources;
  /** Period of the node's memory, swap and load readings (default 5 s). */
  readonly nodeSampleMs?: number;
  /** How long a session's client may be silent before its process is stopped (default 10 s). */
  readonly sessionGraceMs?: number;
}

/** How an agent stops: finish what runs, stop everything now, or just go (a crash, in tests). */
export type StopMode = 'drain' | 'terminate';

export interface Agent {
  readonly node: string;
  readonly reconciled: Reconciled;
  /** Worker ids running now. */
  running(): string[];
  stop(mode?: StopMode): Promise<void>;
}

/**
 * The node agent: registers its node with real capacity, reconciles the workers of its previous
 * life, takes work from its durable queue (launches and kills survive its restarts), supervises
 * processes and reports every transition of its workers to the log, and heartbeats.
 */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const { nc, node, logger } = opts;
  const clock = opts.clock ?? Date.now;
  const by: Actor = { kind: 'agent', id: node };
  const runtime = createEntityRuntime({
    eventLog: opts.eventLog,
    cache: true,
    onAnomaly: (subject, a) => logger.warn({ subject, kind: a.kind }, 'history anomaly'),
  });
  const slots = new SlotGate(opts.capacity);
  const ctx: { -readonly [K in keyof WorkerContext]: WorkerContext[K] } = {
    node,
    by,
    runtime,
    records: workerRecords(join(opts.stateDir, 'state')),
    queue: createKeyedQueue(),
    live: new Map(),
    fence: createLossFence(),
    stateDir: opts.stateDir,
    clock,
    logger,
    sampleMs: opts.sampleMs ?? 1000,
    sampleLogMs: opts.sampleLogMs ?? 5000,
    agentVersion: droverVersion(),
    environmentCache: createEnvironmentCache(),
    slots,
    sessions: createSessionHost({
      nc,
      eventLog: opts.eventLog,
      node,
      by,
      clock,
      logger,
      graceMs: opts.sessionGraceMs ?? 10_000,
      stateDir: opts.stateDir,
    }),
  };
  let reading: NodeReading | undefined;
  const sampler = startSampling(
    opts,
    () => ctx.live.size,
    (r) => (reading = r),
  );
  if (sampler.metrics) ctx.metrics = sampler.metrics;
  const incarnation = randomUUID();
  const nodeCommand = async (command: NodeCommand) => {
    const r = await runtime.execute(nodeBehaviour, node, command);
    if (!r.ok) logger.warn({ command: command.type, why: r.rejection }, 'node command refused');
    return r;
  };
  const meta = (tag: string) => metaOf(ctx, node, `${incarnation}>${tag}`);
  const { capacity } = opts;
  /** Register this life (`tag` tells a rejoin's commands from the first's: ids dedupe). */
  const register = () =>
    nodeCommand({
      type: 'RegisterNode',
      ...meta(`register${tag}`),
      data: {
        cpus: capacity.cpus,
        memMb: capacity.memMb,
        gpus: capacity.gpus,
        hostname: capacity.hostname,
        labels: { ...opts.labels },
        incarnation,
      },
    });
  let tag = '';
  /** Raise the fence to the node's latest loss in the log (one read of the node's history). */
  const learnLosses = async () => {
    ctx.fence.raise(lastLossSeq((await opts.eventLog.read('node', node)).events));
  };
  await register();
  // Lost while this agent was away: the processes of that life assigned before are given up.
  await learnLosses();
  const reconciled = await reconcile(ctx);
  logger.info({ node, ...counts(reconciled) }, 'reconciled');
  // Before the node reads ready: a run inside an allocation held here starts again from then.
  const holds = await ctx.sessions?.readoptHolds(
    [...ctx.live.values()].map(({ record, supervised }) => ({
      jobId: record.jobId,
      workerId: record.workerId,
      supervised,
    })),
  );
  if (holds?.length) logger.info({ node, allocations: holds }, 'allocation holds re-adopted');
  await nodeCommand({ type: 'MarkReady', ...meta('ready') });

  let draining = false;
  /**
   * Bring the agent in line with the log (after a reconnect, or its node declared lost while it
   * lived): learn the node's latest loss, stop the processes of attempts the log or that loss
   * gave up, and if the node is lost, register again and turn ready, as after a restart. The
   * loss is learnt first: stopping before it, a process the loss gave up whose failure was not
   * in the log yet was kept, and ran on beside its retry (the chaos run, issue 23).
   */
  const resync = async (why: string) => {
    runtime.forget(eventSubject('node', node));
    const state = stateName((await runtime.load(nodeBehaviour, node)).state);
    await learnLosses();
    const stopped = await stopDisowned(ctx);
    const rejoin = !draining && ['lost', 'offline', 'none'].includes(state);
    if (rejoin) {
      tag = `@${clock()}`;
      await register();
      await nodeCommand({ type: 'MarkReady', ...meta(`ready${tag}`) });
    }
    if (stopped.length > 0 || rejoin) logger.warn({ why, stopped, rejoined: rejoin }, 'resynced');
  };
  const beat = () => {
    const hb: Heartbeat = {
      node,
      incarnation,
      at: clock(),
      workers: [...ctx.live.keys()],
      draining,
      ...(reading && { reading }),
    };
    // A timer's publish: never throws on a closed connection (during a reconnect it buffers).
    if (!nc.isClosed()) nc.publish(heartbeatSubject(node), JSON.stringify(hb));
  };
  beat();
  const timer = setInterval(beat, opts.heartbeatMs ?? 1000);

  const intake = await takeWork(
    nc,
    { name: `agent-${node}`, filter: workSubject(node), maxAckPending: 10_000, batch: 512 },
    logger,
    (work, m) => {
      if (work.kind === 'launch') {
        const turn = { gate: slots, eventLog: opts.eventLog, working: () => m.working() };
        return () => launchInTurn(ctx, turn, work);
      }
      // A launch waiting for room leaves the line now: its kill would otherwise queue behind it
      // (one worker's messages are handled in order) until a slot freed.
      slots.drop(work.worker);
      return () => killWorker(ctx, work);
    },
    ctx.queue,
  );
  const standing = watchStanding({
    nc,
    eventLog: opts.eventLog,
    node,
    logger,
    fence: ctx.fence,
    resync,
  });
  // Lost between registering and the watch's start (a slow start under load): seen now.
  standing.request('started');

  return {
    node,
    reconciled,
    running: () => [...ctx.live.keys()],
    async stop(mode: StopMode = 'drain') {
      draining = true;
      await standing.stop();
      await intake.stop();
      // Launches still waiting for room go back to the queue for the agent's next life.
      slots.close();
      if (mode === 'terminate') {
        await Promise.all(
          [...ctx.live.keys()].map((id) => killWorker(ctx, { worker: id, reason: 'terminate' })),
        );
      }
      await Promise.all([...ctx.live.values()].map((w) => w.supervised.done));
      await ctx.queue.idle();
      await nodeCommand({
        type: 'MarkOffline',
        ...meta('offline'),
        data: { reason: mode === 'drain' ? 'agent stopped after draining' : 'agent terminated' },
      });
      clearInterval(timer);
      ctx.sessions?.close();
      sampler.stop();
      opts.metrics?.remove(node);
    },
  };
}

/**
 * The node's sampler: each reading goes to the heartbeat (the alert evaluator's swap rule reads
 * it there) and to the node's metrics when the agent reports metrics.
 */
function startSampling(
  opts: AgentOptions,
  workers: () => number,
  onReading: (r: NodeReading) => void,
) {
  const metrics = opts.metrics?.forNode(opts.node, workers);
  const clock = opts.clock ?? Date.now;
  const sampler = startNodeSampler({
    logger: opts.logger,
    onSample: (stats) => {
      metrics?.sampled(stats);
      onReading(readingOf(stats, clock()));
    },
    ...(opts.nodeSources && { sources: opts.nodeSources }),
    ...(opts.nodeSampleMs !== undefined && { intervalMs: opts.nodeSampleMs }),
    ...(opts.clock && { clock: opts.clock }),
  });
  return { metrics, stop: () => sampler.stop() };
}

function counts(r: Reconciled) {
  return { readopted: r.readopted.length, finished: r.finished.length, lost: r.lost.length };
}
