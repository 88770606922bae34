import { JetStreamApiError } from '@nats-io/jetstream';
import {
  AuthorizationError,
  ConnectionError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ErrorCodes, SchedulerError } from '../events/index.js';

/**
 * JetStream API errors that a farm coming up clears by itself: the system (no meta leader yet:
 * a cluster electing, or without quorum) temporarily unavailable (10008), and too few servers
 * up to place the replicas asked for (10005 no suitable peers, 10023 insufficient resources).
 */
const TRANSIENT_JS_CODES: ReadonlySet<number> = new Set([10005, 10008, 10023]);

/**
 * Whether a failure of a service's start-up (connecting, then creating or reading the farm's
 * streams and buckets) may clear by waiting: the server not listening yet, a request timing out
 * or finding no responder while JetStream elects its leaders, the cluster short of servers.
 * Credentials and permissions the server refused, a configuration JetStream rejected and any
 * failure of our own (a bad `DROVER_*` value, an unreadable creds file) never clear: they are
 * reported at once with their own exit code. Pure.
 */
export function worthWaiting(err: unknown): boolean {
  if (refused(err)) return false;
  // Ours: UNAVAILABLE and TIMEOUT are the farm not answering (a publish's 503 while a stream
  // has no leader, an ack that never came), unless what they wrap was a refusal.
  if (err instanceof SchedulerError)
    return (
      (err.code === ErrorCodes.Unavailable || err.code === ErrorCodes.Timeout) &&
      !refused(err.cause)
    );
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true;
  if (err instanceof NoRespondersError) return true;
  if (err instanceof RequestError && err.isNoResponders()) return true;
  if (err instanceof JetStreamApiError) return TRANSIENT_JS_CODES.has(err.code);
  // A wrapper (a request's error; "jetstream is not enabled", which nats.js reports for no
  // responders on the JetStream API while the server starts) is what it wraps: not enabled
  // for the account (10039) is a configuration and does not clear.
  return err instanceof Error && err.cause !== undefined && worthWaiting(err.cause);
}

/** Credentials or permissions the server refused. Pure. */
function refused(err: unknown): boolean {
  return (
    err instanceof AuthorizationError ||
    err instanceof UserAuthenticationExpiredError ||
    err instanceof PermissionViolationError
  );
}

/** The first wait after a failed try, and the longest: doubling from one to the other. */
export const STARTUP_BACKOFF = { firstMs: 250, maxMs: 5_000 } as const;

/** The wait before try `n + 1` after `n` failed tries (1-based): 250, 500, 1000, ... 5000 ms. Pure. */
export function startupDelayMs(failedTries: number): number {
  const doubled = STARTUP_BACKOFF.firstMs * 2 ** Math.max(0, failedTries - 1);
  return Math.min(STARTUP_BACKOFF.maxMs, doubled);
}

/**
 * `DROVER_STARTUP_PATIENCE_MS`: how long a starting service waits for NATS and JetStream before
 * it gives up (exit 5). Unset: it waits as long as it takes (systemd may start it before
 * nats-server, or while a cluster elects its leaders). A malformed value is bad input.
 */
export function startupPatienceMs(
  vars: Readonly<Record<string, string | undefined>> = process.env,
): number | undefined {
  const raw = vars.DROVER_STARTUP_PATIENCE_MS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `DROVER_STARTUP_PATIENCE_MS=${raw}: expected milliseconds (unset: wait as long as it takes)`,
    );
  return n;
}

/** What a start-up waits through, one phase after the other, under one patience. */
export interface StartupWait {
  /**
   * Run `attempt` until it succeeds; while it fails with what `worthWaiting` accepts, try again
   * with a capped backoff. Logs when the start-up begins waiting for `what` (once per change of
   * what it waits for, never once per try). Anything else is thrown as it is; the patience
   * running out is thrown as UNAVAILABLE naming what it waited for (and never waited on again
   * by an enclosing `retry`).
   */
  retry<T>(what: string, attempt: () => Promise<T>): Promise<T>;
  /** The start-up is over: logs how long it waited, if it did. */
  done(): void;
}

export interface StartupWaitOptions {
  readonly logger?: Logger;
  /** Total time for every phase together; undefined waits forever. */
  readonly patienceMs?: number;
  /** Injected in tests; defaults to the real clock and timers. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/** A start-up's waits, sharing one patience and one log state; see `StartupWait`. */
export function startupWait(opts: StartupWaitOptions = {}): StartupWait {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? ((ms: number) => sleep(ms));
  const since = now();
  const gaveUp = new WeakSet<object>();
  let waitingFor: string | undefined;
  let waitedSince: number | undefined;
  const giveUp = (what: string, err: unknown): SchedulerError => {
    const s = Math.round((now() - since) / 1000);
    const e = new SchedulerError(
      ErrorCodes.Unavailable,
      `gave up waiting for ${what} after ${s} s (DROVER_STARTUP_PATIENCE_MS=${opts.patienceMs}): ${(err as Error).message}`,
      { cause: err },
    );
    gaveUp.add(e);
    return e;
  };
  return {
    async retry(what, attempt) {
      for (let failed = 1; ; failed += 1) {
        try {
          return await attempt();
        } catch (err) {
          if (gaveUp.has(err as object) || !worthWaiting(err)) throw err;
          if (waitingFor !== what) {
            waitingFor = what;
            waitedSince ??= now();
            opts.logger?.warn(
              { waitingFor: what, err: (err as Error).message },
              `waiting for ${what}`,
            );
          }
          const delay = startupDelayMs(failed);
          if (opts.patienceMs !== undefined && now() + delay - since > opts.patienceMs)
            throw giveUp(what, err);
          await pause(delay);
        }
      }
    },
    done() {
      if (waitedSince !== undefined)
        opts.logger?.info(
          { waitedFor: waitingFor, waitedMs: now() - waitedSince },
          'start-up wait over',
        );
    },
  };
}
