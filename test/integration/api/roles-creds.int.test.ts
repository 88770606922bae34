import { jetstreamManager } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, startApiService, type ApiService } from '../../../src/api/index.js';
import { ensureFarmStreams } from '../../../src/events/index.js';
import { runAgent, type Agent } from '../../../src/node-agent/index.js';
import { ensureCheckpointBucket } from '../../../src/projections/index.js';
import { ensureLeaseBucket, runScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { droverArgv } from '../../support/cli-main.js';
import { quietLogger } from '../../support/farm.js';
import {
  ROLES_CONF,
  rolesCredsBinary,
  startOperatorServer,
  type OperatorFarm,
} from '../../support/roles-creds.js';

const BATCH = join(import.meta.dirname, '../../support/cli-batch.ts');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of `drover` signed in with `user`'s .creds file only (DROVER_NATS_CREDS; no
 * password): DROVER_NATS_USER names the API surface and inbox the role uses; `admin` scope takes
 * the trusted surface.
 */
function credsEnv(farm: OperatorFarm, user: string, scope?: 'admin'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DROVER_NATS_URL: farm.server.url,
    DROVER_NATS_CREDS: farm.credsOf(user),
    DROVER_NATS_USER: user,
    DROVER_USER: user,
    LOG_LEVEL: 'silent',
  };
  delete env.DROVER_NATS_PASS;
  if (scope === 'admin') env.DROVER_API_SCOPE = 'admin';
  else delete env.DROVER_API_SCOPE;
  return env;
}

/** The real `drover ARGS` (the compiled CLI) signed in with `user`'s .creds file. */
function droverWithCreds(
  farm: OperatorFarm,
  user: string,
  args: string[],
  scope?: 'admin',
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, droverArgv(args), {
      env: credsEnv(farm, user, scope),
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.end();
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Several one-shot commands in one process per role (test/support/cli-batch.ts): on a loaded
 * 2-core machine each start of the CLI costs seconds.
 */
function batchWithCreds(
  farm: OperatorFarm,
  user: string,
  lines: string[][],
  scope?: 'admin',
): Promise<CliRun[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BATCH, JSON.stringify(lines)], {
      env: credsEnv(farm, user, scope),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`batch as ${user} exited ${code}: ${stderr}`));
      const runs = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as CliRun[];
      resolve(runs.map((r) => ({ ...r, stderr: '' })));
    });
  });
}

/** The error document of a refused `--json` command. */
const errorOf = (r: CliRun) =>
  (
    JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as {
      error?: { code: string; message: string };
    } | null
  )?.error;

/** A command of each role that must answer, and one given to other roles that must not. */
const backup = (dir: string) => ['backup', join(dir, 'never-written.backup'), '--json'];
const CASES: {
  user: string;
  may: string[];
  mayNot?: (dir: string) => string[];
  scope?: 'admin';
}[] = [
  { user: 'admin', scope: 'admin', may: ['nodes', '--json'] },
  { user: 'alice', may: ['jobs', '--json'], mayNot: backup },
  { user: 'pipeline', may: ['submit', '--json', '--', 'true'], mayNot: backup },
  {
    user: 'auditor',
    may: ['fairshare', '--json'],
    mayNot: () => ['submit', '--json', '--', 'true'],
  },
  { user: 'node-1', may: ['verify', '--json'], mayNot: () => ['jobs', '--json'] },
  { user: 'scheduler', may: ['usage', '--by', 'user', '--json'], mayNot: () => ['jobs', '--json'] },
];

/**
 * Issue 23 point 8, "credentials files included": the farm on a server in operator (JWT) mode,
 * whose users and permissions roles-creds made from nats.roles.conf. Every service and command
 * signs in with its role's .creds file; each role's own command answers, a cross-role one is
 * refused by the server (exit 4, its permissions violation).
 */
describe('roles as .creds files, on a server in operator mode', () => {
  const results = new Map<string, CliRun[]>();
  let farm: OperatorFarm;
  let api: ApiService;
  let scheduler: Scheduler;
  let agent: Agent;
  let dataDir: string;
  let job: string;
  const conns: NatsConnection[] = [];
  const signIn = async (user: string, extra?: { inboxPrefix?: string }) => {
    const nc = await farm.as(user, extra);
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    farm = await startOperatorServer();
    dataDir = await mkdtemp(join(tmpdir(), 'drover-creds-farm-'));
    const admin = await signIn('admin');
    await ensureFarmStreams(await jetstreamManager(admin));
    await ensureLeaseBucket(admin);
    await ensureCheckpointBucket(admin);
    const sched = await signIn('scheduler');
    api = await startApiService({ nc: sched, logger: quietLogger });
    scheduler = await runScheduler({
      nc: sched,
      logger: quietLogger,
      holder: 'creds',
      leaseTtlMs: 1500,
    });
    agent = await runAgent({
      nc: await signIn('node-1'),
      logger: quietLogger,
      node: 'node-1',
      dataDir,
      capacity: { cpus: 2, memMb: 2048, gpus: 0 },
      heartbeatMs: 250,
    });
    const alice = createApiClient(await signIn('alice', { inboxPrefix: '_INBOX_alice' }), {
      as: 'alice',
    });
    job = (await alice.submit({ name: 'mine', user: 'alice', command: ['true'], memMb: 64 })).jobId;
    // One process per role, two at a time (two cores shared with the rest of the machine).
    for (let i = 0; i < CASES.length; i += 2) {
      await Promise.all(
        CASES.slice(i, i + 2).map(async (c) => {
          const lines = [c.may, ...(c.mayNot ? [c.mayNot(dataDir)] : [])];
          results.set(c.user, await batchWithCreds(farm, c.user, lines, c.scope));
        }),
      );
    }
  }, 400_000);

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await agent?.stop('terminate').catch(() => undefined);
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await farm?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  for (const c of CASES) {
    it(`${c.user}: its own command answers with its .creds file`, () => {
      const r = results.get(c.user)?.[0] as CliRun;
      expect(r.code, r.stdout).toBe(0);
      expect(errorOf(r)).toBeUndefined();
    });
    if (c.mayNot)
      it(`${c.user}: another role's command is denied by the server`, () => {
        const r = results.get(c.user)?.[1] as CliRun;
        expect(r.code, r.stdout).toBe(4);
        expect(errorOf(r)?.message).toMatch(/Permissions Violation/i);
      });
  }

  it('a person on the trusted surface is denied by the server', async () => {
    const r = await droverWithCreds(farm, 'alice', ['cancel', job, '--yes', '--json'], 'admin');
    expect(r.code).toBe(4);
    expect(errorOf(r)?.message).toMatch(/Permissions Violation/i);
  }, 60_000);

  it('a .creds file signed by another operator is refused at sign-in', async () => {
    const foreign = await mkdtemp(join(tmpdir(), 'drover-foreign-creds-'));
    try {
      execFileSync(rolesCredsBinary(), ['-conf', ROLES_CONF, '-out', foreign], { stdio: 'ignore' });
      await expect(
        connect({
          servers: farm.server.url,
          authenticator: credsAuthenticator(await readFile(join(foreign, 'alice.creds'))),
          maxReconnectAttempts: 0,
          timeout: 60_000,
        }),
      ).rejects.toThrow(/Authorization Violation/i);
    } finally {
      await rm(foreign, { recursive: true, force: true });
    }
  }, 120_000);

  it('a person runs a session with their .creds file', async () => {
    const r = await droverWithCreds(farm, 'alice', ['run', '--', 'sh', '-c', 'echo hi; exit 5']);
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(5);
  }, 120_000);
});
