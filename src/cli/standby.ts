import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/main.js';
import { startupWait } from './startup-wait.js';

/** The leadership a `drover scheduler` process holds or waits for, until it is stopped. */
export interface Leadership {
  stop(): Promise<void>;
}

export interface KeepLeadingOptions {
  /** Wait for the lease, then lead (a standby waits inside it). */
  readonly lead: () => Promise<Scheduler>;
  readonly logger: Logger;
  /** Told each time this process comes to lead. */
  readonly onLead?: (s: Scheduler) => void;
  /** A failure waiting cannot clear (refused permissions, a bad setting): the process ends. */
  readonly onFatal: (err: unknown) => void;
}

/**
 * Keep a scheduler process in the race for the lease, beside the API it serves (which does not
 * depend on it): wait for the lease and lead; when deposed (paused past its lease, cut off while
 * another took over), stop that leader's parts and wait for the lease again, as a fresh standby
 * would. A wait that fails for a reason that clears (JetStream without a leader while a
 * nats-server restarts, a request timing out) is tried again with a backoff (`startupWait`).
 * Before, such a failure ended the process (exit 5) after a deposition, and before the first
 * leadership it closed the connection and started the API again from a full catch-up: in the
 * chaos run the farm's API went silent (issue 23). Only what waiting cannot clear is fatal.
 */
export function keepLeading(opts: KeepLeadingOptions): Leadership {
  const { logger } = opts;
  let current: Scheduler | undefined;
  let stopping = false;
  const campaign = async (): Promise<void> => {
    let s: Scheduler;
    try {
      s = await startupWait({ logger }).retry('the scheduler lease', opts.lead);
    } catch (err) {
      if (!stopping) opts.onFatal(err);
      return;
    }
    if (stopping) return void (await s.stop().catch(() => undefined));
    current = s;
    opts.onLead?.(s);
    void s.lost.then(() => (stopping ? undefined : rejoin(s))).catch(opts.onFatal);
  };
  const rejoin = async (deposed: Scheduler): Promise<void> => {
    logger.warn({ epoch: deposed.epoch }, 'deposed: standing by to lead again');
    current = undefined;
    await deposed
      .stop()
      .catch((err: unknown) => logger.warn({ err }, 'the deposed leader stopped with an error'));
    if (!stopping) await campaign();
  };
  void campaign().catch(opts.onFatal);
  return {
    async stop() {
      // A standby waiting for the lease has nothing to hand back: its wait ends with the
      // connection the caller closes next.
      stopping = true;
      await current?.stop();
    },
  };
}
