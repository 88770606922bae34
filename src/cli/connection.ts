import { jetstreamManager } from '@nats-io/jetstream';
import {
  PermissionViolationError,
  type NodeConnectionOptions as ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { userInfo } from 'node:os';
import pino, { type Logger } from 'pino';
import { ErrorCodes, SchedulerError, ensureFarmStreams, type ErrorCode } from '../events/index.js';
import { ensureCheckpointBucket } from '../projections/index.js';
import { ensureLeaseBucket } from '../scheduler/main.js';
import { exitCodeOf } from './exit-codes.js';
import { installLastResort } from './last-resort.js';
import { logDestination } from './log-format.js';
import { startupPatienceMs, startupWait } from './startup-wait.js';
import { connectNats } from './nats-connect.js';

export { connectNats, natsServers, PING_INTERVAL_MS } from './nats-connect.js';

/** The environment of CONTRACT.md, with its defaults. */
export const env = {
  natsUrl: process.env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222',
  dataDir: process.env.DROVER_DATA_DIR ?? './.drover',
  httpPort: Number(process.env.DROVER_HTTP_PORT ?? 8080),
  user: process.env.DROVER_USER ?? userInfo().username,
};

/**
 * `DROVER_REPLICAS`: replicas of the streams and buckets a service creates, and the least an
 * existing one is raised to. Unset: create with 1 and leave existing ones as they are (a
 * service never lowers what the operator chose).
 */
export function farmReplicas(
  vars: Readonly<Record<string, string | undefined>> = process.env,
): number | undefined {
  const raw = vars.DROVER_REPLICAS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 5)
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `DROVER_REPLICAS=${raw}: expected 1 to 5 (JetStream's largest replica count)`,
    );
  return n;
}

/**
 * The inbox of a command run by a person or a role where the server enforces roles
 * (nats.roles.conf): `_INBOX_<DROVER_NATS_USER>`, the only inbox each role may subscribe to
 * besides the services' own, so nobody reads another's replies (JetStream's replies and
 * deliveries included). Admins on the trusted surface (`DROVER_API_SCOPE=admin`) and a farm
 * without users keep the default `_INBOX`. The same rule as the API surface (`apiScope`).
 */
export function readerInbox(
  vars: Readonly<Record<string, string | undefined>> = process.env,
): Partial<ConnectionOptions> {
  const user = vars.DROVER_NATS_USER;
  if (!user || vars.DROVER_API_SCOPE === 'admin') return {};
  return { inboxPrefix: `_INBOX_${user}` };
}

/**
 * Connect and make sure the farm's streams and KV buckets (scheduler lease, projection
 * checkpoints) exist, with `DROVER_REPLICAS` (`farmReplicas`): created with it, raised to it,
 * never lowered. Where roles are enforced only admins and the scheduler may create or update
 * them: a permission refusal is not fatal (they exist already). Waits for NATS as
 * `startOnFarm` does.
 */
export async function connectFarm(
  url = env.natsUrl,
  vars: Readonly<Record<string, string | undefined>> = process.env,
  opts: { logger?: Logger } = {},
): Promise<NatsConnection> {
  const { nc } = await startOnFarm(async () => undefined, { url, vars, ...opts });
  return nc;
}

/**
 * The start-up of every service (scheduler, agent, api, dashboard, sql-sink): connect, ensure
 * the farm's streams and buckets (`connectFarm`), then `start` the service on the connection.
 * A service started by systemd before or beside nats-server, or while a cluster elects its
 * leaders or lacks a quorum, waits and comes up with it: each step that fails for a reason that
 * clears (`worthWaiting`) is tried again with a backoff from 250 ms to 5 s, a failed `start`
 * on a fresh connection (the old one is closed, and with it whatever the failed start had
 * subscribed), logging one line each time what it waits for changes. Refused credentials,
 * refused permissions and bad configuration fail at once with their own exit code;
 * `DROVER_STARTUP_PATIENCE_MS` bounds the whole wait (unset: as long as it takes). So `start`
 * must leave nothing behind but what closing the connection ends (bind ports outside it).
 */
export async function startOnFarm<T>(
  start: (nc: NatsConnection) => Promise<T>,
  opts: {
    url?: string;
    vars?: Readonly<Record<string, string | undefined>>;
    logger?: Logger;
  } = {},
): Promise<{ nc: NatsConnection; service: T }> {
  const vars = opts.vars ?? process.env;
  const replicas = farmReplicas(vars);
  const wait = startupWait({
    ...(opts.logger && { logger: opts.logger }),
    patienceMs: startupPatienceMs(vars),
  });
  const up = await wait.retry('JetStream', async () => {
    const nc = await wait.retry('nats-server', () =>
      connectNats(opts.url ?? env.natsUrl, {}, vars),
    );
    try {
      await wait.retry('JetStream', () => ensureFarm(nc, replicas));
      return { nc, service: await start(nc) };
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  });
  wait.done();
  return up;
}

async function ensureFarm(nc: NatsConnection, replicas: number | undefined): Promise<void> {
  try {
    await ensureFarmStreams(await jetstreamManager(nc), replicas ? { replicas } : {});
    await ensureLeaseBucket(nc, replicas);
    await ensureCheckpointBucket(nc, replicas ? { replicas } : {});
  } catch (err) {
    // A role that may not create or update them (nats.roles.conf): they exist already.
    if (
      !(err instanceof PermissionViolationError) &&
      !/permission|authoriz/i.test((err as Error).message)
    )
      throw err;
  }
}

/**
 * The root logger of a command (STYLE.md: created only in composition roots), on stderr: human
 * lines on a terminal, JSON otherwise or with `LOG_FORMAT=json` (see `logDestination`).
 */
export function rootLogger(name: string): Logger {
  const logger = pino(
    { name, level: process.env.LOG_LEVEL ?? 'info' },
    logDestination() ?? pino.destination(2),
  );
  // Only the long-running services make a root logger: each gets the last-resort policy.
  installLastResort(logger);
  return logger;
}

/**
 * CONTRACT.md errors: one line `error: <code>: <message>` on stderr, or with `--json` one JSON
 * error document on stdout (where every `--json` document goes); then the exit code of the code
 * (`exitCodeOf`, the one mapping), so no caller picks an exit code by hand.
 */
export function fail(code: ErrorCode, message: string, json: boolean, details?: unknown): never {
  const out = errorOutput(code, message, json, details);
  if (out.stdout) process.stdout.write(out.stdout);
  if (out.stderr) process.stderr.write(out.stderr);
  process.exit(exitCodeOf(code));
}

/** What `fail` prints, on which stream (also used for commander's parse errors). Pure. */
export function errorOutput(
  code: ErrorCode,
  message: string,
  json: boolean,
  details?: unknown,
): { stdout: string; stderr: string } {
  if (json) {
    const error = { code, message, ...(details !== undefined && { details }) };
    return { stdout: JSON.stringify({ error }) + '\n', stderr: '' };
  }
  return { stdout: '', stderr: `error: ${code}: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n` };
}
