import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkFold, stateName } from '../actors/index.js';
import { createJetStreamEventLog } from '../events/index.js';

/** What a local farm stops, in the order a clean stop needs. */
export interface FarmParts {
  readonly nc: NatsConnection;
  readonly agents: readonly {
    running(): string[];
    stop(mode: 'drain' | 'terminate'): Promise<void>;
  }[];
  /** The scheduler, API and dashboard: stopped after the agents' work is recorded. */
  readonly services: readonly (() => Promise<void>)[];
  readonly server: { stop(): Promise<void> };
}

/**
 * The stop of `drover up`: agents first (drain: their processes finish; terminate: killed), then
 * wait until the scheduler, still leading, has recorded how the chunks they ran ended, then the
 * services, then the connection, and the nats-server last. A second call (the second Ctrl-C)
 * only turns the agents' drain into a terminate and joins the first stop.
 */
export function farmStopper(parts: FarmParts): (mode: 'drain' | 'terminate') => Promise<void> {
  let rest: Promise<void> | undefined;
  return async (mode) => {
    const running = parts.agents.flatMap((a) => a.running());
    await Promise.all(parts.agents.map((a) => a.stop(mode)));
    rest ??= (async () => {
      await chunksSettled(parts.nc, running);
      for (const stop of parts.services) await stop();
      await parts.nc.close();
      await parts.server.stop();
    })();
    await rest;
  };
}

/** Chunk states in which an attempt's end has not been recorded yet. */
const UNSETTLED = new Set(['assigned', 'running']);

/**
 * Wait (at most `limitMs`) until the chunks of these workers (`<job>:<i>:<attempt>`) have left
 * assigned/running: the agent wrote the worker's end, the scheduler turns it into the chunk's.
 */
async function chunksSettled(nc: NatsConnection, workers: readonly string[], limitMs = 10_000) {
  if (workers.length === 0) return;
  const log = await createJetStreamEventLog(nc);
  const chunks = [...new Set(workers.map((w) => w.split(':').slice(0, 2).join(':')))];
  const deadline = Date.now() + limitMs;
  try {
    for (const chunk of chunks) {
      while (Date.now() < deadline) {
        const state = stateName(chunkFold.foldEvents((await log.read('chunk', chunk)).events));
        if (!UNSETTLED.has(state)) break;
        await sleep(100);
      }
    }
  } finally {
    await log.close();
  }
}
