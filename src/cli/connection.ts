import { jetstreamManager } from '@nats-io/jetstream';
import {
  connect,
  credsAuthenticator,
  type NodeConnectionOptions as ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import pino, { type Logger } from 'pino';
import { ensureFarmStreams, type ErrorCode } from '../events/index.js';
import { ensureCheckpointBucket } from '../projections/index.js';
import { ensureLeaseBucket } from '../scheduler/main.js';
import { exitCodeOf } from './exit-codes.js';
import { logDestination } from './log-format.js';

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
    throw new Error(`DROVER_REPLICAS=${raw}: expected 1 to 5 (JetStream's largest replica count)`);
  return n;
}

/** How often a connection pings the server; two unanswered pings make it stale. */
export const PING_INTERVAL_MS = 5_000;

/**
 * Connect with DROVER_NATS_USER/PASS or DROVER_NATS_CREDS when set; reconnect forever. `extra`
 * adds connect options (the CLI's per-user `inboxPrefix`); `vars` is where those variables are
 * read (default `process.env`; commands that take their environment as a dependency pass it).
 */
export async function connectNats(
  url = env.natsUrl,
  extra: Partial<ConnectionOptions> = {},
  vars: Readonly<Record<string, string | undefined>> = process.env,
): Promise<NatsConnection> {
  const creds = vars.DROVER_NATS_CREDS;
  const user = vars.DROVER_NATS_USER;
  return connect({
    servers: url,
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
 * them: a permission refusal is not fatal (they exist already).
 */
export async function connectFarm(
  url = env.natsUrl,
  vars: Readonly<Record<string, string | undefined>> = process.env,
): Promise<NatsConnection> {
  const replicas = farmReplicas(vars);
  const nc = await connectNats(url, {}, vars);
  try {
    await ensureFarmStreams(await jetstreamManager(nc), replicas ? { replicas } : {});
    await ensureLeaseBucket(nc, replicas);
    await ensureCheckpointBucket(nc, replicas ? { replicas } : {});
  } catch (err) {
    if (!/permission|authoriz/i.test((err as Error).message)) {
      await nc.close();
      throw err;
    }
  }
  return nc;
}

/**
 * The root logger of a command (STYLE.md: created only in composition roots), on stderr: human
 * lines on a terminal, JSON otherwise or with `LOG_FORMAT=json` (see `logDestination`).
 */
export function rootLogger(name: string): Logger {
  return pino(
    { name, level: process.env.LOG_LEVEL ?? 'info' },
    logDestination() ?? pino.destination(2),
  );
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
