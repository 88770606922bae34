import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiClient,
  startApiService,
  type ApiClient,
  type ApiService,
} from '../../../src/api/index.js';
import { exitCodeOf } from '../../../src/cli/exit-codes.js';
import {
  SchedulerError,
  createJetStreamEventLog,
  ensureFarmStreams,
} from '../../../src/events/index.js';
import { runAgent, type Agent } from '../../../src/node-agent/index.js';
import { runScheduler, type Scheduler } from '../../../src/scheduler/main.js';
import { deniedPublish, startRolesServer } from '../../support/api-roles.js';
import { quietLogger } from '../../support/farm.js';
import type { NatsServer } from '../../support/nats-server.js';

const body = (user: string) => ({
  name: 'roles',
  user,
  command: ['sh', '-c', 'echo hi'],
  memMb: 64,
});

async function refusal(p: Promise<unknown>): Promise<SchedulerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SchedulerError) return err;
    throw err;
  }
  throw new Error('allowed');
}

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}

/** A whole farm where each component connects as its own role from nats.roles.conf. */
describe('roles in nats.roles.conf, enforced by the server', () => {
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  let as: (user: string, extra?: { inboxPrefix?: string }) => Promise<NatsConnection>;
  let api: ApiService;
  let scheduler: Scheduler;
  let agent: Agent;
  let dataDir: string;
  let alice: ApiClient;
  let bob: ApiClient;
  let aliceNc: NatsConnection;
  const connect = async (user: string, extra?: { inboxPrefix?: string }) => {
    const nc = await as(user, extra);
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    ({ server, as } = await startRolesServer());
    dataDir = await mkdtemp(join(tmpdir(), 'drover-roles-'));
    await ensureFarmStreams(await jetstreamManager(await connect('admin')));
    const sched = await connect('scheduler');
    api = await startApiService({ nc: sched, logger: quietLogger });
    scheduler = await runScheduler({
      nc: sched,
      logger: quietLogger,
      holder: 'roles',
      leaseTtlMs: 1500,
    });
    const agentNc = await connect('node-1');
    agent = await runAgent({
      nc: agentNc,
      logger: quietLogger,
      node: 'node-1',
      dataDir,
      capacity: { cpus: 2, memMb: 2048, gpus: 0 },
      heartbeatMs: 250,
    });
    aliceNc = await connect('alice', { inboxPrefix: '_INBOX_alice' });
    alice = createApiClient(aliceNc, { as: 'alice' });
    bob = createApiClient(await connect('bob', { inboxPrefix: '_INBOX_bob' }), { as: 'bob' });
  }, 60_000);

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await scheduler?.stop().catch(() => undefined);
    await agent?.stop('terminate').catch(() => undefined);
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('each role can do its own work: a user submits through the API, the farm runs it', async () => {
    const { jobId } = await alice.submit(body('alice'));
    await until(async () => (await alice.job(jobId).catch(() => undefined))?.state === 'succeeded');
    const [out] = await alice.logs({ id: jobId, chunk: 0, stream: 'stdout' });
    expect(out?.text).toBe('hi\n');
    expect((await alice.nodes()).map((n) => n.id)).toEqual(['node-1']);
  }, 40_000);

  it('a submitter cannot write the event log, the work queue or the intake, nor use the trusted surface', async () => {
    const nc = aliceNc;
    await expect(jetstream(nc).publish('drover.ev.job.j1', 'x')).rejects.toThrow(
      /Permissions Violation/,
    );
    expect(await deniedPublish(nc, 'drover.work.node-1')).toMatch(/Permissions Violation/);
    expect(await deniedPublish(nc, 'drover.intake.submit')).toMatch(/Permissions Violation/);
    const trusted = createApiClient(nc);
    const err = await refusal(trusted.cancel('j1'));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toMatch(/Permissions Violation/);
  });

  it("a user acts on their own jobs only: impersonation is denied by the server, others' jobs by the service", async () => {
    const { jobId } = await bob.submit({ ...body('bob'), command: ['sleep', '30'] });
    const asBob = createApiClient(aliceNc, { as: 'bob' });
    expect((await refusal(asBob.cancel(jobId))).message).toMatch(/Permissions Violation/);
    await until(async () => (await bob.job(jobId).catch(() => undefined)) !== undefined);
    const cancel = await refusal(alice.cancel(jobId));
    expect(cancel.code).toBe('FORBIDDEN');
    expect(exitCodeOf(cancel.code)).toBe(4);
    expect((await refusal(alice.clear(jobId))).code).toBe('FORBIDDEN');
    const submitAsBob = await refusal(alice.submit(body('bob')));
    expect(submitAsBob.code).toBe('FORBIDDEN');
    expect(submitAsBob.message).toContain('user');
    expect((await refusal(bob.priority(jobId, 100, 'deadline'))).code).toBe('FORBIDDEN');
    expect((await refusal(bob.node('drain', 'node-1'))).code).toBe('FORBIDDEN');
    const own = await bob.cancel(jobId, { wait: true, waitMs: 20_000 });
    expect(own.state).toBe('cancelled');
    // A person may read the log (usage, fair share and audit are farm-wide folds; nats.roles.conf)
    // but never write it: an event appended by hand is refused by the server.
    await expect(
      jetstream(aliceNc).publish(`drover.ev.job.${jobId}`, 'forged', { timeout: 5_000 }),
    ).rejects.toThrow();
  }, 40_000);

  it('priority overrides are for admins, and recorded with who did it', async () => {
    // A job that ends at once may be over before the override: a priority change is for a job still open.
    const { jobId } = await alice.submit({ ...body('alice'), command: ['sleep', '30'] });
    const admin = createApiClient(await connect('admin'));
    await until(async () => (await admin.job(jobId).catch(() => undefined)) !== undefined);
    await admin.priority(jobId, 500, 'deadline', { by: 'ops-lead' });
    const log = await createJetStreamEventLog(await connect('auditor'));
    const changed = (await log.read('job', jobId)).events.find(
      (e) => e.type === 'job.priority_changed',
    );
    expect(changed?.by).toEqual({ kind: 'admin', id: 'ops-lead' });
    expect(changed?.data).toMatchObject({ priority: 500, reason: 'deadline' });
    expect((await alice.cancel(jobId, { wait: true, waitMs: 20_000 })).state).toBe('cancelled');
  }, 40_000);

  it("an agent writes only its own node's subjects", async () => {
    const nc = await connect('node-1');
    expect(await deniedPublish(nc, 'drover.hb.node-2')).toMatch(/Permissions Violation/);
    expect(await deniedPublish(nc, 'drover.work.node-2')).toMatch(/Permissions Violation/);
    await expect(jetstream(nc).publish('drover.ev.node.node-2', 'x')).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(jetstream(nc).publish('drover.ev.job.j1', 'x')).rejects.toThrow(
      /Permissions Violation/,
    );
    const jsm = await jetstreamManager(nc);
    await expect(
      jsm.consumers.add('DROVER_WORK', {
        durable_name: 'agent-node-2',
        filter_subject: 'drover.work.node-2',
      }),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(
      jsm.consumers.add('DROVER_WORK', {
        durable_name: 'agent-node-1',
        filter_subject: 'drover.work.node-2',
      }),
    ).rejects.toThrow(/Permissions Violation/);
    expect(await deniedPublish(nc, 'drover.api.submit')).toMatch(/Permissions Violation/);
  });

  it('an auditor reads the event log and nothing else', async () => {
    const nc = await connect('auditor');
    const log = await createJetStreamEventLog(nc);
    expect((await log.read('node', 'node-1')).events[0]?.type).toBe('node.registered');
    expect(await log.lastSeq()).toBeGreaterThan(0);
    expect(await deniedPublish(nc, 'drover.intake.submit')).toMatch(/Permissions Violation/);
    const err = await refusal(createApiClient(nc).submit(body('auditor')));
    expect(err.message).toMatch(/Permissions Violation/);
    await expect(jetstream(nc).publish('drover.ev.job.jx', 'x')).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect((await jetstreamManager(nc)).streams.purge('DROVER_EVENTS')).rejects.toThrow(
      /Permissions Violation/,
    );
  });
});
