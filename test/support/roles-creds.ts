import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from './nats-server.js';

const REPO = join(import.meta.dirname, '../..');
/** The roles the operator-mode users are made from. */
export const ROLES_CONF = join(REPO, 'nats.roles.conf');

/**
 * The roles-creds tool (scripts/roles-creds), built once into .tools/ by
 * scripts/install-roles-creds.sh. Without Go this throws the script's one-line hint.
 */
export function rolesCredsBinary(): string {
  try {
    const out = execFileSync('sh', [join(REPO, 'scripts/install-roles-creds.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.trim().split('\n').pop() as string;
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`scripts/install-roles-creds.sh failed: ${stderr || (err as Error).message}`);
  }
}

/** A server in operator (JWT) mode made from nats.roles.conf, and one .creds file per role. */
export interface OperatorFarm {
  server: NatsServer;
  /** The folder of `<user>.creds`. */
  credsDir: string;
  credsOf(user: string): string;
  as(user: string, extra?: { inboxPrefix?: string }): Promise<NatsConnection>;
  stop(): Promise<void>;
}

/**
 * nats.roles.conf turned into operator mode by roles-creds (README "Deploying on several
 * machines"): the server trusts the operator's JWT, its accounts are preloaded, and each role
 * signs in with its own .creds file (no password anywhere).
 */
export async function startOperatorServer(): Promise<OperatorFarm> {
  const credsDir = await mkdtemp(join(tmpdir(), 'drover-creds-'));
  execFileSync(rolesCredsBinary(), ['-conf', ROLES_CONF, '-out', credsDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const resolver = await readFile(join(credsDir, 'resolver.conf'), 'utf8');
  const server = await startNatsServer({ extraConfig: resolver });
  const credsOf = (user: string) => join(credsDir, `${user}.creds`);
  return {
    server,
    credsDir,
    credsOf,
    as: async (user, extra = {}) =>
      connect({
        servers: server.url,
        authenticator: credsAuthenticator(await readFile(credsOf(user))),
        noAsyncTraces: true,
        // A generous bound on the handshake: the machine runs at load 30 at times.
        timeout: 60_000,
        ...extra,
      }),
    async stop() {
      await server.stop();
      await rm(credsDir, { recursive: true, force: true });
    },
  };
}
