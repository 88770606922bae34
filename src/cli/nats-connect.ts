import {
  connect,
  credsAuthenticator,
  type NodeConnectionOptions as ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { readFile } from 'node:fs/promises';

// Apart from connection.ts (which also sets the farm up, and so loads the services' modules): the
// scheduler's lease renewer thread connects with this alone.

/** How often a connection pings the server; two unanswered pings make it stale. */
export const PING_INTERVAL_MS = 5_000;

/**
 * The servers of `DROVER_NATS_URL`: one URL, or a cluster's several separated by commas (nats.js
 * takes a string as one server: given the whole list it dialled only one of them). Pure.
 */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Connect with DROVER_NATS_USER/PASS or DROVER_NATS_CREDS when set; reconnect forever. `extra`
 * adds connect options (the CLI's per-user `inboxPrefix`); `vars` is where those variables are
 * read (default `process.env`; commands that take their environment as a dependency pass it).
 */
export async function connectNats(
  url = process.env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222',
  extra: Partial<ConnectionOptions> = {},
  vars: Readonly<Record<string, string | undefined>> = process.env,
): Promise<NatsConnection> {
  const creds = vars.DROVER_NATS_CREDS;
  const user = vars.DROVER_NATS_USER;
  return connect({
    servers: natsServers(url),
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A stalled link (a cut cable, a partition: no FIN, no RST) shows as a disconnect within
    // about three pings instead of the default's minutes, so an agent whose node was declared
    // lost meanwhile resyncs with the log once it is back (node-agent/standing.service.ts).
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: 2,
    ...(creds && { authenticator: credsAuthenticator(await readFile(creds)) }),
    ...(user && { user, pass: vars.DROVER_NATS_PASS ?? '' }),
    ...extra,
  });
}
