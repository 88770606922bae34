import {
  createInbox,
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/transport-node';
import { ErrorCodes, SchedulerError, type ErrorCode } from './errors.js';

function natsCode(err: unknown): ErrorCode | undefined {
  if (err instanceof TimeoutError) return ErrorCodes.Timeout;
  if (err instanceof PermissionViolationError || err instanceof AuthorizationError)
    return ErrorCodes.Forbidden;
  if (
    err instanceof NoRespondersError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError
  )
    return ErrorCodes.Unavailable;
  if (err instanceof RequestError) {
    if (err.isNoResponders()) return ErrorCodes.Unavailable;
    return natsCode(err.cause) ?? ErrorCodes.Unavailable;
  }
  return undefined;
}

/**
 * The one mapper from nats.js failures to Drover's codes (STYLE.md §4: infrastructure codes are
 * translated in one place, by class, never by the words of a message): a timeout is TIMEOUT, a
 * permission violation FORBIDDEN, no responders or a closed or lost connection UNAVAILABLE. A
 * Drover error is returned as it is; anything else is `undefined` (the caller decides, usually
 * INTERNAL). The original is kept as `cause`.
 * @example const e = fromNatsError(err, 'agent of node-1'); if (e) throw e;
 */
export function fromNatsError(err: unknown, what?: string): SchedulerError | undefined {
  if (err instanceof SchedulerError) return err;
  const code = natsCode(err);
  if (code === undefined) return undefined;
  const message = (err as Error).message;
  return new SchedulerError(code, what === undefined ? message : `${what}: ${message}`, {
    cause: err,
  });
}

/**
 * A fresh inbox under the connection's own `inboxPrefix` (as nats.js's JetStream consumers do):
 * where roles are enforced a person may subscribe only to `_INBOX_<name>.>`, so a reader or
 * publisher that made its reply subjects under the default `_INBOX` was denied its subscription.
 */
export function inboxOf(nc: NatsConnection): string {
  const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
  return createInbox(prefix);
}
