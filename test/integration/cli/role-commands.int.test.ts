import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiClient,
  startApiService,
  type ApiClient,
  type ApiService,
} from '../../../src/api/index.js';
import {
  EVENTS_STREAM,
  INTAKE_STREAM,
  REJECTED_STREAM,
  ensureFarmStreams,
} from '../../../src/events/index.js';
import { CHECKPOINT_BUCKET, ensureCheckpointBucket } from '../../../src/projections/index.js';
import { ensureLeaseBucket, runScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { ROLE_PASSWORDS, startRolesServer } from '../../support/api-roles.js';
import { quietLogger } from '../../support/farm.js';
import type { NatsServer } from '../../support/nats-server.js';

const BATCH = join(import.meta.dirname, '../../support/cli-batch.ts');

interface Run {
  code: number;
  stdout: string;
}

/**
 * The real `drover` commands signed in as `user` of nats.roles.conf (admins on the trusted
 * surface), one process per role (test/support/cli-batch.ts).
 */
function droverAs(url: string, user: string, lines: string[][]): Promise<Run[]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DROVER_NATS_URL: url,
    DROVER_NATS_USER: user,
    DROVER_NATS_PASS: process.env[ROLE_PASSWORDS[user] as string] ?? '',
    DROVER_USER: user,
    LOG_LEVEL: 'warn',
  };
  delete env.DROVER_NATS_CREDS;
  if (user === 'admin') env.DROVER_API_SCOPE = 'admin';
  else delete env.DROVER_API_SCOPE;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BATCH, JSON.stringify(lines)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`batch as ${user} exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as Run[]);
    });
  });
}

interface Ctx {
  job: string;
  backup: string;
}

/** Every CLI command a role may be given, with the arguments it runs with here. */
const COMMANDS: Record<string, (c: Ctx, user: string) => string[]> = {
  submit: (_c, u) => ['submit', '--json', '--name', `by-${u}`, '--mem', '64M', '--', 'true'],
  jobs: () => ['jobs', '--json'],
  show: (c) => ['show', c.job, '--json'],
  explain: (c) => ['explain', c.job, '--json'],
  'explain --at': (c) => ['explain', c.job, '--at', '100000', '--json'],
  nodes: () => ['nodes', '--json'],
  'calendar list': () => ['calendar', 'list', '--json'],
  usage: () => ['usage', '--by', 'user', '--json'],
  audit: (c) => ['audit', c.job, '--json'],
  fairshare: () => ['fairshare', '--json'],
  'replay --verify': () => ['replay', '--verify', '--json'],
  verify: () => ['verify', '--json'],
  backup: (c, u) => ['backup', `${c.backup}-${u}`, '--json'],
};

const READS = ['usage', 'audit', 'fairshare', 'replay --verify', 'verify', 'explain --at'];
const PERSON = ['submit', 'jobs', 'show', 'explain', 'nodes', 'calendar list', ...READS];

/**
 * What each role of nats.roles.conf may run (README "Deploying on several machines": people use
 * their own API surface and read the log; auditors only read it; agents and the scheduler are
 * services that also read it; admins everything). Everything else is denied by the server.
 */
const ALLOWED: Record<string, string[]> = {
  admin: Object.keys(COMMANDS),
  alice: PERSON,
  pipeline: PERSON,
  auditor: READS,
  'node-1': READS,
  // The scheduler's service role creates its streams and buckets and reads the log; it holds no
  // other JetStream right, so backup (the admin's, like restore and compact) is refused.
  scheduler: READS,
};

/**
 * Issue 23 point 8: one server with nats.roles.conf, the real CLI as each role, each command.
 * A command the role is given answers (exit 0, one JSON document); any other is refused with
 * exit 4 and a JSON error whose message is the server's permissions violation, never a
 * timeout, never a partial answer.
 */
describe('every CLI command, as every role of nats.roles.conf', () => {
  let server: NatsServer;
  let api: ApiService;
  let scheduler: Scheduler;
  let alice: ApiClient;
  let dir: string;
  const conns: NatsConnection[] = [];
  const ctx: Ctx = { job: '', backup: '' };
  const results = new Map<string, Run>();
  let asUser: (user: string, extra?: { inboxPrefix?: string }) => Promise<NatsConnection>;

  beforeAll(async () => {
    const roles = await startRolesServer();
    server = roles.server;
    asUser = async (user, extra) => {
      const nc = await roles.as(user, extra);
      conns.push(nc);
      return nc;
    };
    const connect = asUser;
    dir = await mkdtemp(join(tmpdir(), 'drover-role-cli-'));
    ctx.backup = join(dir, 'farm.backup');
    const admin = await connect('admin');
    await ensureFarmStreams(await jetstreamManager(admin));
    await ensureLeaseBucket(admin);
    await ensureCheckpointBucket(admin);
    const sched = await connect('scheduler');
    api = await startApiService({ nc: sched, logger: quietLogger });
    scheduler = await runScheduler({
      nc: sched,
      logger: quietLogger,
      holder: 'rc',
      leaseTtlMs: 1500,
    });
    alice = createApiClient(await connect('alice', { inboxPrefix: '_INBOX_alice' }), {
      as: 'alice',
    });
    ctx.job = (
      await alice.submit({ name: 'mine', user: 'alice', command: ['true'], memMb: 64 })
    ).jobId;
    const deadline = Date.now() + 30_000;
    while (!(await alice.job(ctx.job).catch(() => undefined))) {
      if (Date.now() > deadline) throw new Error(`job ${ctx.job} never appeared`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // One process per role, two at a time (two cores shared with the rest of the machine).
    const users = Object.keys(ALLOWED);
    for (let i = 0; i < users.length; i += 2) {
      await Promise.all(
        users.slice(i, i + 2).map(async (user) => {
          // The pipeline cannot see alice's job (the service refuses others' jobs): its show
          // and explain are the person's surface, covered by alice.
          const names = Object.keys(COMMANDS).filter(
            (n) => !(user === 'pipeline' && ['show', 'explain'].includes(n)),
          );
          const runs = await droverAs(
            server.url,
            user,
            names.map((n) => COMMANDS[n]!(ctx, user)),
          );
          names.forEach((n, k) => results.set(`${user} ${n}`, runs[k] as Run));
        }),
      );
    }
  }, 300_000);

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  for (const [user, allowed] of Object.entries(ALLOWED)) {
    for (const name of Object.keys(COMMANDS)) {
      const may = allowed.includes(name);
      it(`${user}: ${name} ${may ? 'answers' : 'is denied by the server'}`, () => {
        const r = results.get(`${user} ${name}`);
        if (r === undefined) return expect(user).toBe('pipeline');
        const doc = JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as {
          error?: { code: string; message: string };
        } | null;
        if (may) {
          expect(r.code, r.stdout).toBe(0);
          expect(doc?.error, r.stdout).toBeUndefined();
        } else {
          expect(r.code, r.stdout).toBe(4);
          expect(doc?.error?.code).toBe('FORBIDDEN');
          expect(doc?.error?.message).toMatch(/Permissions Violation/i);
        }
      });
    }
  }

  it("the scheduler role keeps its own streams' rights and no other JetStream right", async () => {
    const nc = await asUser('scheduler');
    const jsm = await jetstreamManager(nc);
    // What it needs: create (idempotently) and read its streams and buckets.
    await ensureFarmStreams(jsm);
    await ensureLeaseBucket(nc);
    await ensureCheckpointBucket(nc);
    expect((await jsm.streams.info(EVENTS_STREAM)).config.name).toBe(EVENTS_STREAM);
    const denied = /Permissions Violation/;
    // What backup, restore and compact would do: list a bucket, read the intake with a
    // consumer of its own, purge, delete, create the archive; and stream names (`nats ls`).
    const kv = await new Kvm(nc).open(CHECKPOINT_BUCKET);
    await expect(
      (async () => {
        for await (const _ of await kv.keys()) break;
      })(),
    ).rejects.toThrow(denied);
    await expect(jsm.consumers.add(INTAKE_STREAM, { name: 'not-the-scheduler' })).rejects.toThrow(
      denied,
    );
    await expect(
      jsm.streams.purge(EVENTS_STREAM, { filter: 'drover.ev.job.none' }),
    ).rejects.toThrow(denied);
    await expect(jsm.streams.deleteMessage(EVENTS_STREAM, 1)).rejects.toThrow(denied);
    await expect(jsm.streams.delete(REJECTED_STREAM)).rejects.toThrow(denied);
    await expect(
      jsm.streams.add({ name: 'DROVER_ARCHIVE', subjects: ['x.archive.>'] }),
    ).rejects.toThrow(denied);
    await expect(jsm.streams.names().next()).rejects.toThrow(denied);
  });

  it('a person reads the log and the checkpoints but cannot write either', async () => {
    const r = results.get('alice audit');
    const entries = JSON.parse(r?.stdout ?? '[]') as { type: string }[];
    expect(entries.map((e) => e.type)).toContain('job.submitted');
    const nc = await asUser('alice', { inboxPrefix: '_INBOX_alice' });
    await expect(jetstream(nc).publish('drover.ev.job.x1', 'x')).rejects.toThrow(
      /Permissions Violation/,
    );
    const kv = await new Kvm(nc).open(CHECKPOINT_BUCKET);
    await expect(kv.put('usage-v1', new Uint8Array([1]))).rejects.toThrow(/Permissions Violation/);
  });
});
