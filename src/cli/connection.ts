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
import { ensureFarmStreams } from '../events/index.js';
import { logDestination } from './log-format.js';

/** The environment of CONTRACT.md, with its defaults. */
export const env = {
  natsUrl: process.env.DROVER_NATS_URL ?? 'nats://127.0.0.1:4222',
  dataDir: process.env.DROVER_DATA_DIR ?? './.drover',
  httpPort: Number(process.env.DROVER_HTTP_PORT ?? 8080),
  user: process.env.DROVER_USER ?? userInfo().username,
};

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
    ...(creds && { authenticator: credsAuthenticator(await readFile(creds)) }),
    ...(user && { user, pass: vars.DROVER_NATS_PASS ?? '' }),
    ...extra,
  });
}

/**
 * Connect and make sure the farm's streams exist. Where roles are enforced only admins and the
 * scheduler may create or update streams: a permission refusal is not fatal (they exist already).
 */
export async function connectFarm(url = env.natsUrl): Promise<NatsConnection> {
  const nc = await connectNats(url);
  try {
    await ensureFarmStreams(await jetstreamManager(nc));
  } catch (err) {
    if (!/permission|authoriz/i.test((err as Error).message)) throw err;
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

/** CONTRACT.md errors: one line on stderr, or one JSON document with `--json`; exit code. */
export function fail(
  code: string,
  message: string,
  exitCode: number,
  json: boolean,
  details?: unknown,
): never {
  if (json)
    console.log(
      JSON.stringify({ error: { code, message, ...(details !== undefined && { details }) } }),
    );
  else console.error(`error: ${code}: ${message}`);
  process.exit(exitCode);
}
