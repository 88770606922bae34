import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { jobFold, stateName, type JobSnapshot } from '../../src/actors/index.js';
import {
  INTAKE_SUBJECT,
  createJetStreamEventLog,
  ensureFarmStreams,
  jobIdOfIntake,
  type JetStreamEventLog,
  type RecordedEvent,
} from '../../src/events/index.js';
import { runAgent, type Agent } from '../../src/node-agent/index.js';
import { runScheduler } from '../../src/scheduler/main.js';
import type { Scheduler } from '../../src/scheduler/main.js';
import { connectTo } from './nats-client.js';
import type { NatsCluster } from './nats-cluster.js';
import { startNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.js';

export const quietLogger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** A whole farm in this process: a real nats-server, a scheduler, agents running real processes. */
export interface Farm {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly log: JetStreamEventLog;
  readonly dataDir: string;
  scheduler?: Scheduler;
  readonly agents: Agent[];
  /** Publish a submit body to the durable intake; resolves with the job id. */
  submit(body: Record<string, unknown>): Promise<string>;
  job(id: string): Promise<JobSnapshot>;
  /** Wait until the job is in one of `states` (default: any terminal state). */
  waitFor(id: string, states?: readonly string[], timeoutMs?: number): Promise<JobSnapshot>;
  events(entity: 'job' | 'chunk' | 'worker' | 'node', id: string): Promise<RecordedEvent[]>;
  startAgent(
    node: string,
    over?: { cpus?: number; memMb?: number; labels?: Record<string, string> },
  ): Promise<Agent>;
  stop(): Promise<void>;
}

export interface FarmOptions {
  readonly agents?: number;
  readonly cpus?: number;
  readonly memMb?: number;
  readonly scheduler?: boolean;
  readonly weights?: Record<string, number>;
  readonly nodeLostMs?: number;
  /** Run on this cluster (the farm connects to all its servers and leaves it running on stop). */
  readonly cluster?: NatsCluster;
  /** Lease TTL of the scheduler (default 1500 ms). */
  readonly leaseTtlMs?: number;
  /** The scheduler's hook for broken start-by promises. */
  readonly onPromiseBroken?: (broken: readonly { jobId: string; why: string }[]) => void;
  /** The farm's own nats-server's options (not with `cluster`). */
  readonly serverOptions?: NatsServerOptions;
  /** How long the scheduler keeps a finished job in memory (its default otherwise). */
  readonly retireAfterMs?: number;
  /** The scheduler pipelines (pre-assigns a second round of work per node). */
  readonly pipeline?: boolean;
  /** The scheduler's preemption guards (its defaults otherwise). */
  readonly preemption?: {
    minShareGap?: number;
    maxPerRound?: number;
    maxPerJob?: number;
    leadMs?: number;
  };
}

export const TERMINAL = ['succeeded', 'failed', 'cancelled'] as const;

export async function startFarm(opts: FarmOptions = {}): Promise<Farm> {
  const server = opts.cluster?.members[0] ?? (await startNatsServer(opts.serverOptions));
  const nc = opts.cluster
    ? await connect({
        servers: [...opts.cluster.servers],
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
      })
    : await connectTo(server);
  await ensureFarmStreams(await jetstreamManager(nc));
  const log = await createJetStreamEventLog(nc);
  const dataDir = await mkdtemp(join(tmpdir(), 'drover-farm-'));
  const js = jetstream(nc);
  const agents: Agent[] = [];
  let seq = 0;
  const farm: Farm = {
    server,
    nc,
    log,
    dataDir,
    agents,
    async submit(body) {
      // As a client should: a publish whose ack is lost (a stream leader change on a cluster)
      // is sent again with the same id, and the intake's duplicate window answers the first ack.
      // No responders until the intake's new leader is elected (seconds after a server's loss).
      const msgID = `test-${process.pid}-${++seq}-${Date.now()}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const ack = await js.publish(INTAKE_SUBJECT, JSON.stringify(body), { msgID });
          return jobIdOfIntake(ack.seq);
        } catch (err) {
          if (!opts.cluster || Date.now() > deadline) throw err;
          await sleep(200);
        }
      }
    },
    async job(id) {
      const { events } = await log.read('job', id);
      return jobFold.foldEvents(events);
    },
    async waitFor(id, states = TERMINAL, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await farm.job(id);
        if (states.includes(stateName(job))) return job;
        if (Date.now() > deadline)
          throw new Error(
            `job ${id} is ${stateName(job)} after ${timeoutMs} ms, not ${states.join('|')}`,
          );
        await sleep(50);
      }
    },
    async events(entity, id) {
      return (await log.read(entity, id)).events;
    },
    async startAgent(node, over = {}) {
      const agent = await runAgent({
        nc,
        logger: quietLogger,
        node,
        dataDir,
        capacity: {
          cpus: over.cpus ?? opts.cpus ?? 4,
          memMb: over.memMb ?? opts.memMb ?? 4096,
          gpus: 0,
        },
        labels: over.labels ?? {},
        heartbeatMs: 250,
        sampleMs: 200,
      });
      agents.push(agent);
      return agent;
    },
    async stop() {
      await farm.scheduler?.stop().catch(() => undefined);
      await Promise.all(agents.map((a) => a.stop('terminate').catch(() => undefined)));
      await log.close();
      await nc.close();
      if (!opts.cluster) await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  for (let i = 1; i <= (opts.agents ?? 2); i++) await farm.startAgent(`node-${i}`);
  if (opts.scheduler ?? true) {
    farm.scheduler = await runScheduler({
      nc,
      logger: quietLogger,
      holder: 'test-scheduler',
      leaseTtlMs: opts.leaseTtlMs ?? 1500,
      nodeLostMs: opts.nodeLostMs ?? 3000,
      fairShare: { weights: opts.weights ?? {} },
      backoff: { baseMs: 100, maxMs: 1000 },
      ...(opts.onPromiseBroken && { onPromiseBroken: opts.onPromiseBroken }),
      ...(opts.preemption && { preemption: opts.preemption }),
      ...(opts.retireAfterMs !== undefined && { retireAfterMs: opts.retireAfterMs }),
      ...(opts.pipeline && { pipeline: true }),
    });
  }
  return farm;
}
