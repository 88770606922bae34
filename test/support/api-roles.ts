import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readFile } from 'node:fs/promises';
import { startNatsServer, type NatsServer } from './nats-server.js';

/** The password variables nats.roles.conf reads from the server's environment. */
export const ROLE_PASSWORDS: Readonly<Record<string, string>> = {
  admin: 'DROVER_ADMIN_PASS',
  scheduler: 'DROVER_SCHEDULER_PASS',
  'node-1': 'DROVER_AGENT_NODE1_PASS',
  'node-2': 'DROVER_AGENT_NODE2_PASS',
  alice: 'DROVER_USER_ALICE_PASS',
  bob: 'DROVER_USER_BOB_PASS',
  pipeline: 'DROVER_PIPELINE_PASS',
  auditor: 'DROVER_AUDITOR_PASS',
};

/**
 * A nats-server started from the repo's nats.roles.conf (appended to the test config), with a
 * fresh random password per role in its environment, as production would pass them.
 */
export async function startRolesServer(): Promise<{
  server: NatsServer;
  as: (user: string, extra?: { inboxPrefix?: string }) => Promise<NatsConnection>;
}> {
  const passwords = new Map<string, string>();
  for (const [user, variable] of Object.entries(ROLE_PASSWORDS)) {
    const pass = `pw-${user}-${Math.random().toString(36).slice(2)}`;
    passwords.set(user, pass);
    process.env[variable] = pass;
  }
  const roles = await readFile(new URL('../../nats.roles.conf', import.meta.url), 'utf8');
  const server = await startNatsServer({ extraConfig: roles });
  return {
    server,
    as: (user, extra = {}) =>
      connect({
        servers: server.url,
        user,
        pass: passwords.get(user) ?? '',
        noAsyncTraces: true,
        ...extra,
      }),
  };
}

/**
 * Publish to `subject` and resolve with the server's permissions violation for it (rejects when
 * none arrives: the server let it through).
 */
export async function deniedPublish(nc: NatsConnection, subject: string): Promise<string> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      const message = (s as { error?: Error }).error?.message ?? '';
      if (s.type === 'error' && message.includes(`"${subject}"`)) return message;
    }
    return '';
  })();
  nc.publish(subject, 'x');
  await nc.flush();
  const timeout = new Promise<string>((_, reject) =>
    setTimeout(() => reject(new Error(`publish to ${subject} was not denied`)), 2_000),
  );
  return Promise.race([seen, timeout]);
}

/**
 * Subscribe to `subject` and resolve with the server's permissions violation for it (rejects
 * when none arrives: the server let the subscription stand).
 */
export async function deniedSubscribe(nc: NatsConnection, subject: string): Promise<string> {
  let denied!: (message: string) => void;
  const seen = new Promise<string>((resolve) => (denied = resolve));
  void (async () => {
    for await (const s of nc.status()) {
      const message = (s as { error?: Error }).error?.message ?? '';
      if (s.type === 'error' && message.includes(`"${subject}"`)) denied(message);
    }
  })();
  const sub = nc.subscribe(subject, {
    callback: (err) => {
      if (err) denied(err.message);
    },
  });
  await nc.flush();
  const timeout = new Promise<string>((_, reject) =>
    setTimeout(() => reject(new Error(`subscription to ${subject} was not denied`)), 2_000),
  );
  try {
    return await Promise.race([seen, timeout]);
  } finally {
    sub.unsubscribe();
  }
}
