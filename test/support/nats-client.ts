import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createJetStreamEventLog, ensureEventStream, type JetStreamEventLog } from '../../src/events/index.js';
import type { NatsServer } from './nats-server.js';

/** A client that keeps reconnecting (servers are restarted by fault tests). */
export function connectTo(server: NatsServer): Promise<NatsConnection> {
  return connect({
    servers: server.url,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
}

/** Connect, create the event stream and open the event log on it. */
export async function openEventLog(server: NatsServer): Promise<{ nc: NatsConnection; log: JetStreamEventLog }> {
  const nc = await connectTo(server);
  await ensureEventStream(await jetstreamManager(nc));
  const log = await createJetStreamEventLog(nc);
  return { nc, log };
}
