import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { eventSubject, isCorrupt, type EventLog } from '../events/index.js';
import type { LossFence } from './loss-fence.js';

export interface StandingOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly node: string;
  readonly logger: Logger;
  /** Raised at once by each `node.lost` seen, before the resync it asks for starts. */
  readonly fence: LossFence;
  /** Bring the agent in line with the log (see `startAgent`); runs one at a time. */
  readonly resync: (why: string) => Promise<void>;
}

export interface Standing {
  /** Ask for a resync now (coalesced with one already asked for). */
  request(why: string): void;
  stop(): Promise<void>;
}

/**
 * The agent's watch on its standing in the log while it runs. A scheduler that stops hearing a
 * node declares it lost and retries its attempts elsewhere; an agent that is alive meanwhile (a
 * cut link, a long pause) must then stop those attempts' processes, or they run on beside their
 * retries. It learns of it two ways: its own node's `node.lost` on the log's tail, and the
 * connection coming back (`reconnect`: the cut may have outlasted the node-loss timeout, and the
 * tail's events of that time come late or, across a reconnect, may be missed). The connection's
 * pings (`connectNats`) turn a stalled link into a disconnect within a bounded time.
 */
export function watchStanding(opts: StandingOptions): Standing {
  const { nc, eventLog, node, logger } = opts;
  const own = eventSubject('node', node);
  let running: Promise<void> | undefined;
  let again: string | undefined;
  let stopped = false;
  const request = (why: string): void => {
    if (stopped) return;
    if (running) {
      again = why;
      return;
    }
    running = (async () => {
      for (let next: string | undefined = why; next !== undefined && !stopped;) {
        again = undefined;
        await opts.resync(next).catch((err: unknown) => {
          logger.warn({ err, why: next }, 'resync failed; again on the next sign');
        });
        next = again;
      }
    })().finally(() => (running = undefined));
  };

  const tail = eventLog.tail({ entity: 'node' });
  const tailing = (async () => {
    for await (const item of tail) {
      if (isCorrupt(item) || item.recorded.subject !== own) continue;
      if (item.type !== 'node.lost') continue;
      opts.fence.raise(item.recorded.seq);
      request(`the log says the node is lost: ${item.data.reason}`);
    }
  })().catch((err: unknown) => {
    if (!stopped) logger.warn({ err }, 'tail of its node ended; reconnects still resync');
  });

  const statuses = (async () => {
    for await (const s of nc.status()) {
      if (stopped) break;
      if (s.type === 'disconnect' || s.type === 'staleConnection')
        logger.warn({ status: s.type }, 'connection to NATS lost');
      else if (s.type === 'reconnect') request('reconnected to NATS');
    }
  })().catch(() => undefined);

  return {
    request,
    async stop() {
      stopped = true;
      await tail.stop();
      await Promise.race([tailing, new Promise((r) => setTimeout(r, 1_000))]);
      await running;
      void statuses;
    },
  };
}
