import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/main.js';
import { ErrorCodes } from '../events/index.js';
import { exitCodeOf } from './exit-codes.js';

/** The leadership a `drover scheduler` process holds or waits for, until it is stopped. */
export interface Leadership {
  stop(): Promise<void>;
}

/**
 * Keep a scheduler process in the race for the lease: when its leader is deposed (paused past
 * its lease, cut off while another took over) it stops that leader's parts and waits for the
 * lease again, as a fresh standby would. Before, the process exited 0: a supervisor restarting
 * only failures left the farm one standby short, and the API served beside it went too.
 * A standby that cannot even start again (its connection closed for good) exits 5.
 */
export function standByWhenDeposed(
  first: Scheduler,
  lead: () => Promise<Scheduler>,
  logger: Logger,
  onLead: (s: Scheduler) => void = () => {},
): Leadership {
  let current: Scheduler | undefined = first;
  let stopping = false;
  const watch = (s: Scheduler): void => {
    void s.lost.then(() => (stopping ? undefined : rejoin(s)));
  };
  const rejoin = async (deposed: Scheduler): Promise<void> => {
    logger.warn({ epoch: deposed.epoch }, 'deposed: standing by to lead again');
    current = undefined;
    await deposed
      .stop()
      .catch((err: unknown) => logger.warn({ err }, 'the deposed leader stopped with an error'));
    if (stopping) return;
    try {
      const next = await lead();
      if (stopping) return void (await next.stop().catch(() => undefined));
      current = next;
      onLead(next);
      watch(next);
    } catch (err) {
      if (stopping) return;
      logger.fatal({ err }, 'could not stand by again');
      process.exit(exitCodeOf(ErrorCodes.Unavailable));
    }
  };
  watch(first);
  return {
    async stop() {
      // A standby waiting for the lease has nothing to hand back: its wait ends with the
      // connection the caller closes next.
      stopping = true;
      await current?.stop();
    },
  };
}
