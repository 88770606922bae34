import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiService, type ApiService } from '../../../src/api/index.js';
import { ensureFarmStreams } from '../../../src/events/index.js';
import { runAgent, type Agent } from '../../../src/node-agent/index.js';
import { ensureCheckpointBucket } from '../../../src/projections/index.js';
import { ensureLeaseBucket, runScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import {
  ROLE_PASSWORDS,
  deniedPublish,
  deniedSubscribe,
  startRolesServer,
} from '../../support/api-roles.js';
import { droverArgv } from '../../support/cli-main.js';
import { quietLogger } from '../../support/farm.js';
import type { NatsServer } from '../../support/nats-server.js';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real `drover ARGS` signed in as `user` of nats.roles.conf, stdin from `input`. */
function droverAs(url: string, user: string, args: string[], input = ''): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DROVER_NATS_URL: url,
    DROVER_NATS_USER: user,
    DROVER_NATS_PASS: process.env[ROLE_PASSWORDS[user] as string] ?? '',
    DROVER_USER: user,
    LOG_LEVEL: 'silent',
  };
  delete env.DROVER_NATS_CREDS;
  delete env.DROVER_API_SCOPE;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, droverArgv(args), { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Issue 20 under issue 23 point 8: interactive sessions on a server enforcing nats.roles.conf.
 * A person runs `drover run` (and inside `drover alloc`) with their own credentials; the bytes
 * travel on subjects that name the user and the node, so the server denies anyone else reading
 * or typing into them, and an agent speaking for another node.
 */
describe('sessions under nats.roles.conf', () => {
  let server: NatsServer;
  let api: ApiService;
  let scheduler: Scheduler;
  let agent: Agent;
  let dataDir: string;
  const conns: NatsConnection[] = [];
  let as: (user: string, extra?: { inboxPrefix?: string }) => Promise<NatsConnection>;
  /** Every session subject the admin saw during the tests (the wire, as it is). */
  const seen = new Set<string>();
  let spy: Subscription;
  const connect = async (user: string, extra?: { inboxPrefix?: string }) => {
    const nc = await as(user, extra);
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    ({ server, as } = await startRolesServer());
    dataDir = await mkdtemp(join(tmpdir(), 'drover-session-roles-'));
    const admin = await connect('admin');
    await ensureFarmStreams(await jetstreamManager(admin));
    await ensureLeaseBucket(admin);
    await ensureCheckpointBucket(admin);
    spy = admin.subscribe('drover.session.>', {
      callback: (_e, m) => void seen.add(m.subject),
    });
    const sched = await connect('scheduler');
    api = await startApiService({ nc: sched, logger: quietLogger });
    scheduler = await runScheduler({
      nc: sched,
      logger: quietLogger,
      holder: 'session-roles',
      leaseTtlMs: 1500,
    });
    agent = await runAgent({
      nc: await connect('node-1'),
      logger: quietLogger,
      node: 'node-1',
      dataDir,
      capacity: { cpus: 4, memMb: 4096, gpus: 0 },
      heartbeatMs: 250,
    });
  }, 60_000);

  afterAll(async () => {
    spy?.unsubscribe();
    await api?.stop().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await agent?.stop('terminate').catch(() => undefined);
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('a person runs a command with their own credentials: output, stdin and exit code', async () => {
    const hi = await droverAs(server.url, 'alice', ['run', '--', 'echo', 'hi']);
    expect(hi.stderr).toBe('');
    expect(hi.stdout).toBe('hi\n');
    expect(hi.code).toBe(0);
    const piped = await droverAs(
      server.url,
      'alice',
      ['run', '--', 'sh', '-c', 'tr a-z A-Z; exit 3'],
      'typed in\n',
    );
    expect(piped.stdout).toBe('TYPED IN\n');
    expect(piped.code).toBe(3);
  }, 120_000);

  it('the bytes travel on subjects naming the user and the node', () => {
    const subjects = [...seen];
    expect(subjects.length).toBeGreaterThan(0);
    for (const s of subjects)
      expect(s).toMatch(/^drover\.session\.alice\.node-1\.[^.]+\.(in|out)$/);
  });

  it("another person can neither read nor type into alice's session, by the server", async () => {
    const out = [...seen].find((s) => s.endsWith('.out')) as string;
    const input = out.replace(/\.out$/, '.in');
    const bob = await connect('bob', { inboxPrefix: '_INBOX_bob' });
    expect(await deniedSubscribe(bob, out)).toMatch(/Permissions Violation/i);
    expect(await deniedSubscribe(bob, 'drover.session.alice.>')).toMatch(/Permissions Violation/i);
    expect(await deniedSubscribe(bob, 'drover.session.*.node-1.*.out')).toMatch(
      /Permissions Violation/i,
    );
    expect(await deniedPublish(bob, input)).toMatch(/Permissions Violation/i);
    // …while bob's own session subjects are his (the same rule, not a blanket denial).
    await expect(deniedSubscribe(bob, 'drover.session.bob.*.s1.out')).rejects.toThrow(
      /was not denied/,
    );
  }, 30_000);

  it("an agent cannot write or read another node's session subjects", async () => {
    const out = [...seen].find((s) => s.endsWith('.out')) as string;
    const node2 = await connect('node-2');
    expect(await deniedPublish(node2, out)).toMatch(/Permissions Violation/i);
    expect(await deniedPublish(node2, 'drover.session.alice.node-1.s1.out')).toMatch(
      /Permissions Violation/i,
    );
    expect(await deniedSubscribe(node2, 'drover.session.alice.node-1.s1.in')).toMatch(
      /Permissions Violation/i,
    );
    // Its own node's sessions it serves.
    await expect(deniedPublish(node2, 'drover.session.alice.node-2.s1.out')).rejects.toThrow(
      /was not denied/,
    );
  }, 30_000);

  it('a person holds an allocation and runs inside it', async () => {
    const held = await droverAs(server.url, 'alice', ['alloc', '--time', '2m', '--wait', '--json']);
    expect(held.code, held.stderr + held.stdout).toBe(0);
    const { allocId } = JSON.parse(held.stdout) as { allocId: string };
    const inside = await droverAs(server.url, 'alice', [
      'run',
      '--alloc',
      allocId,
      '--',
      'sh',
      '-c',
      'echo "in $DROVER_ALLOC"',
    ]);
    expect(inside.stdout).toBe(`in ${allocId}\n`);
    expect(inside.code).toBe(0);
    // bob may not run in alice's allocation (the service refuses others' allocations).
    const bobs = await droverAs(server.url, 'bob', ['run', '--alloc', allocId, '--', 'true']);
    expect(bobs.code).toBe(4);
    const released = await droverAs(server.url, 'alice', ['alloc', 'release', allocId, '--json']);
    expect(released.code, released.stdout).toBe(0);
  }, 180_000);
});
