import type { NatsConnection } from '@nats-io/transport-node';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createJetStreamEventLog, type Resources } from '../events/index.js';
import type { AgentMetricsFamily } from './agent-metrics.js';
import { startAgent, type Agent } from './agent.service.js';
import { detectCapacity } from './capacity.js';
import { serveLogs } from './log-server.service.js';

export interface AgentMainOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly node: string;
  readonly dataDir: string;
  readonly capacity?: Partial<Resources>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly heartbeatMs?: number;
  readonly sampleMs?: number;
  /** Where the agent reports (`createAgentMetrics`); default nowhere. */
  readonly metrics?: AgentMetricsFamily;
  /** Grace of a silent session client (default `DROVER_SESSION_GRACE_MS`, else 10 s). */
  readonly sessionGraceMs?: number;
}

/** Composition root of one node agent: real capacity (or overrides), its state dir, the log. */
export async function runAgent(opts: AgentMainOptions): Promise<Agent> {
  const capacity = await detectCapacity(opts.capacity);
  const eventLog = await createJetStreamEventLog(opts.nc);
  const stateDir = join(opts.dataDir, 'agents', opts.node);
  const graceEnv = Number(process.env.DROVER_SESSION_GRACE_MS);
  const sessionGraceMs =
    opts.sessionGraceMs ?? (Number.isFinite(graceEnv) && graceEnv > 0 ? graceEnv : undefined);
  const agent = await startAgent({
    nc: opts.nc,
    eventLog,
    node: opts.node,
    capacity,
    labels: opts.labels ?? {},
    stateDir,
    logger: opts.logger.child({ component: 'agent', node: opts.node }),
    ...(opts.heartbeatMs !== undefined && { heartbeatMs: opts.heartbeatMs }),
    ...(opts.sampleMs !== undefined && { sampleMs: opts.sampleMs }),
    ...(opts.metrics && { metrics: opts.metrics }),
    ...(sessionGraceMs !== undefined && { sessionGraceMs }),
  });
  // Logs stay on this machine; `drover logs` asks for them on drover.agent.<node>.logs.
  const logs = serveLogs(opts.nc, opts.node, stateDir);
  return {
    ...agent,
    async stop(mode) {
      await agent.stop(mode);
      logs.unsubscribe();
    },
  };
}

export { startAgent } from './agent.service.js';
export type { Agent, AgentOptions, StopMode } from './agent.service.js';
