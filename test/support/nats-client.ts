import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createJetStreamEventLog,
  ensureEventStream,
  type JetStreamEventLog,
} from '../../src/events/index.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

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
export async function openEventLog(
  server: NatsServer,
): Promise<{ nc: NatsConnection; log: JetStreamEventLog }> {
  const nc = await connectTo(server);
  await ensureEventStream(await jetstreamManager(nc));
  const log = await createJetStreamEventLog(nc);
  return { nc, log };
}

/** Per test file: a real nats-server with the event stream and an open event log. */
export interface EventLogFixture {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly log: JetStreamEventLog;
}

/**
 * Register beforeAll/afterAll hooks that start a server and open the log, and stop both after the
 * file. Read the fields inside tests (they are set once beforeAll has run).
 */
export function useEventLog(hooks: {
  beforeAll: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
}): EventLogFixture {
  const fixture = {} as { server: NatsServer; nc: NatsConnection; log: JetStreamEventLog };
  hooks.beforeAll(async () => {
    fixture.server = await startNatsServer();
    Object.assign(fixture, await openEventLog(fixture.server));
  });
  hooks.afterAll(async () => {
    await fixture.log?.close();
    await fixture.nc?.close();
    await fixture.server?.stop();
  });
  return fixture;
}
