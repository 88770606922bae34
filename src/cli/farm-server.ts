import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EVENTS_STREAM, heartbeatSubject } from '../events/index.js';
import { connectNats } from './connection.js';
import { reachable, startLocalNats } from './nats-process.js';

/** Why `drover up` will not use the server at the URL (a refusal, exit 4). */
export class FarmRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FarmRefused';
  }
}

/** The nats-server a local farm uses: one it started (stopped last) or one it reuses, and why. */
export interface FarmServer {
  readonly url: string;
  readonly started: ChildProcess | undefined;
  /** Words for the status line: `started by drover up, store in DIR` or why it is reused. */
  readonly how: string;
  /** Stop the server it started (SIGTERM, wait for exit); nothing for a reused one. */
  stop(): Promise<void>;
}

/**
 * The server for `drover up`. One that answers is reused only when it holds Drover's streams or
 * DROVER_NATS_URL named it: the default 127.0.0.1:4222 may be someone else's NATS. One it starts
 * runs in its own session, so the terminal's Ctrl-C (sent to the whole foreground process group)
 * does not reach it and the agents can still report while they drain; `stop()` ends it last, and
 * an exit of this process ends it too.
 */
export async function farmServer(
  url: string,
  dataDir: string,
  explicit: boolean,
): Promise<FarmServer> {
  if (await reachable(url)) {
    const holds = await holdsDroverStreams(url);
    if (!holds && !explicit)
      throw new FarmRefused(
        `the NATS server at ${url} is not Drover's (it has no ${EVENTS_STREAM} stream); set DROVER_NATS_URL to use it anyway, or stop it`,
      );
    const how = holds ? `reused: it holds Drover's streams` : 'reused: named by DROVER_NATS_URL';
    return { url, started: undefined, how, stop: async () => undefined };
  }
  const conf = fileURLToPath(new URL('../../nats.conf', import.meta.url));
  const { child } = await startLocalNats(conf, dataDir, url);
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  return {
    url,
    started: child,
    how: `started by drover up, store in ${dataDir}`,
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited; // the store is flushed and the port free before we say we stopped
    },
  };
}

async function holdsDroverStreams(url: string): Promise<boolean> {
  const nc = await connectNats(url, { maxReconnectAttempts: 0 });
  try {
    await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

/**
 * Refuse to start agents named like ones that already beat on this server: a second `drover up`
 * beside a running one would otherwise join it with a second pair of agents of the same names.
 * Listens for one heartbeat window (1.5 heartbeats, at least 1.5 s).
 */
export async function refuseRunningFarm(
  nc: NatsConnection,
  url: string,
  nodes: readonly string[],
  heartbeatMs = 1000,
): Promise<void> {
  const subs = nodes.map((n) => nc.subscribe(heartbeatSubject(n), { max: 1 }));
  const heard = Promise.race(subs.map(async (s) => (await s[Symbol.asyncIterator]().next()).done));
  const timeout = new Promise<'quiet'>((r) =>
    setTimeout(() => r('quiet'), Math.max(1500, heartbeatMs * 1.5)),
  );
  const outcome = await Promise.race([heard, timeout]);
  subs.forEach((s) => s.unsubscribe());
  if (outcome !== 'quiet')
    throw new FarmRefused(
      `a farm is already running at ${url} (its agents ${nodes.join(', ')} are beating); stop it first, or use it with drover submit/jobs/show`,
    );
}
