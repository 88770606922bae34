import type { NatsConnection } from '@nats-io/transport-node';
import { createApiClient, type ApiClient } from '../api/index.js';
import { connectNats, fail } from './connection.js';
import { asCliError } from './exit-codes.js';

/**
 * Which API surface the CLI uses. Where the server enforces roles (nats.roles.conf), a person
 * connects as their own NATS user (`DROVER_NATS_USER`) and acts on `drover.api.as.<user>.*`,
 * with replies on their own inbox prefix; admins set `DROVER_API_SCOPE=admin` for the trusted
 * surface. Without a NATS user (a local farm) the trusted surface is used.
 */
export function apiScope(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const user = env.DROVER_NATS_USER;
  if (!user || env.DROVER_API_SCOPE === 'admin') return undefined;
  return user;
}

/** Print one JSON document on stdout. */
export const printJson = (value: unknown): void => {
  process.stdout.write(JSON.stringify(value) + '\n');
};

/** A plain text table (first row is the header). */
export function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths?.[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** An epoch-ms time as ISO, or `-`. */
export const time = (at: number | null | undefined): string =>
  at === undefined || at === null || at === 0 ? '-' : new Date(at).toISOString();

/** Report `err` as CONTRACT.md asks and exit with its code. */
export function failWith(err: unknown, json: boolean): never {
  const e = asCliError(err);
  fail(e.code, e.message, json, e.details);
}

/**
 * Connect, run `body` with an API client, close; errors become `error: <code>: <message>` (or a
 * JSON error document) and the CONTRACT exit code. Exits 0 unless `body` set another code.
 */
export async function withApi(
  json: boolean,
  body: (api: ApiClient, nc: NatsConnection) => Promise<void>,
): Promise<void> {
  const as = apiScope();
  let nc: NatsConnection;
  try {
    nc = await connectNats(undefined, as === undefined ? {} : { inboxPrefix: `_INBOX_${as}` });
  } catch (err) {
    fail('UNAVAILABLE', `cannot reach NATS: ${(err as Error).message}`, json);
  }
  try {
    await body(createApiClient(nc, as === undefined ? {} : { as }), nc);
  } catch (err) {
    await nc.close().catch(() => undefined);
    failWith(err, json);
  }
  await nc.close().catch(() => undefined);
  await flushStdout();
  process.exit(process.exitCode ?? 0);
}

/**
 * Resolves once everything written to stdout so far has left the process. Into a pipe, Node
 * queues what the pipe cannot take yet, and `process.exit` drops that queue: a `--json` list
 * of a few hundred KB came out cut at ~430 KB (issue 23). A write's callback runs in order.
 */
export function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}

/** Ask yes/no on the terminal; false when stdin is not a TTY (never act silently). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
