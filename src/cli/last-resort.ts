import type { Logger } from 'pino';
import { ExitCodes } from './exit-codes.js';

/** What a service process does with a failure nothing else caught (README "Operations"). */
export interface LastResort {
  /** A promise rejected with no handler: logged with its stack; the service runs on. */
  rejection(reason: unknown): void;
  /** A throw nothing caught: logged with its stack, then the process exits 1. */
  exception(err: unknown): void;
}

/**
 * The last-resort policy of a long-running service (scheduler, agent, api, dashboard, sql-sink,
 * up). Node's default ends the process on an unhandled rejection, and so did Drover's: one
 * append's 503 that nobody observed, during a nats-server's restart, killed an agent and with it
 * the supervision of every process on its node (the 10,000-job chaos run, issue 23).
 *
 * - An unhandled rejection is an operation whose caller did not wait for it (every path that
 *   must land is awaited or retried where it starts). The process's state is whole (the throw
 *   unwound a promise chain), so the rejection is logged at `error` with its stack and the
 *   service's name, and the service runs on: exiting would lose far more than that operation.
 * - An uncaught exception unwound a callback halfway, leaving state nobody can vouch for: it is
 *   logged at `fatal` and the process exits 1 (non-zero, so its supervisor starts it again; a
 *   restarted agent re-adopts its processes, a restarted scheduler stands by for the lease).
 */
export function lastResort(
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): LastResort {
  return {
    rejection(reason) {
      logger.error(
        { err: asError(reason), service: logger.bindings().name },
        'unhandled rejection',
      );
    },
    exception(err) {
      logger.fatal({ err: asError(err), service: logger.bindings().name }, 'uncaught exception');
      logger.flush?.();
      exit(ExitCodes.Failure);
    },
  };
}

let installed = false;

/** Install `lastResort(logger)` on this process (once: the first service's logger names it). */
export function installLastResort(logger: Logger): void {
  if (installed) return;
  installed = true;
  const policy = lastResort(logger);
  process.on('unhandledRejection', (reason) => policy.rejection(reason));
  process.on('uncaughtException', (err) => policy.exception(err));
}

/** A rejection's reason as an error, so pino logs a stack (a rejection may carry anything). */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`non-error rejection: ${String(reason)}`);
}
