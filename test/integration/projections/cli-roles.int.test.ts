import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamEventLog, ensureFarmStreams } from '../../../src/events/index.js';
import {
  CHECKPOINT_BUCKET,
  startCheckpointWriter,
  usageProjection,
  type CheckpointWriter,
} from '../../../src/projections/index.js';
import { ROLE_PASSWORDS, startRolesServer } from '../../support/api-roles.js';
import { quietLogger } from '../../support/farm.js';
import type { NatsServer } from '../../support/nats-server.js';
import { appendAll } from '../../support/projection-fixture.js';
import { farmHistory } from '../../support/projection-history.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

/**
 * A projection command signed in as `user` of nats.roles.conf, answered by a long-lived CLI
 * process of that role (cli-session.ts: one per environment) instead of a CLI start each.
 */
let session: CliSession;
const droverAs = (user: string, ...args: string[]) =>
  session.run(args, {
    DROVER_NATS_USER: user,
    DROVER_NATS_PASS: process.env[ROLE_PASSWORDS[user] as string] ?? '',
  });

/**
 * Issue 23 point 8: under nats.roles.conf the auditor could not run `usage`, `audit`,
 * `fairshare` or `replay`: they read checkpoints from the `drover_projections` bucket, which the
 * role had no right to read, and failed instead of folding. The auditor now reads the
 * checkpoints (never writes them: the server refuses), and a role that may read the log but not
 * the bucket (an agent) folds from zero to the same answers.
 */
describe('projection commands per role under nats.roles.conf', () => {
  let server: NatsServer;
  let as: (user: string) => Promise<NatsConnection>;
  let writer: CheckpointWriter;
  const conns: NatsConnection[] = [];
  const jobId = 'auj0';
  const commands: string[][] = [
    ['usage', '--by', 'user', '--json'],
    ['audit', jobId, '--json'],
    ['fairshare', '--json'],
    ['replay', '--verify', '--json'],
  ];
  const expected = new Map<string, unknown>();

  beforeAll(async () => {
    ({ server, as } = await startRolesServer());
    session = cliSession(server.url);
    const admin = await as('admin');
    conns.push(admin);
    await ensureFarmStreams(await jetstreamManager(admin));
    await appendAll(await createJetStreamEventLog(admin), farmHistory(23, { jobs: 3, tag: 'au' }));
    const sched = await as('scheduler');
    conns.push(sched);
    writer = await startCheckpointWriter({ nc: sched, logger: quietLogger });
    for (const args of commands) {
      const r = await droverAs('admin', ...args);
      expect(r.code, r.stderr).toBe(0);
      expected.set(args[0] as string, JSON.parse(r.stdout));
    }
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await writer?.stop();
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
  });

  for (const user of ['auditor', 'node-1']) {
    for (const args of commands) {
      it(`${user}: ${args.join(' ')} answers as admin does`, async () => {
        const r = await droverAs(user, ...args);
        expect(r.code, r.stderr).toBe(0);
        // `replay` also says what it folded: fewer events when it restored checkpoints, which
        // the auditor reads and an agent cannot (it folds from zero).
        const strip = (v: unknown) =>
          args[0] === 'replay' ? { ...(v as object), events: 0, restored: [] } : v;
        const got = JSON.parse(r.stdout) as { restored?: string[] };
        const want = expected.get(args[0] as string) as { restored?: string[] };
        expect(strip(got)).toEqual(strip(want));
        if (args[0] === 'replay')
          expect(got.restored).toEqual(user === 'auditor' ? want.restored : []);
      }, 30_000);
    }
  }

  it('the auditor reads checkpoints but the server refuses its writes to them', async () => {
    const nc = await as('auditor');
    conns.push(nc);
    const kv = await new Kvm(nc).open(CHECKPOINT_BUCKET);
    expect(await kv.get(`usage-v${usageProjection.version}`).then((e) => e?.operation)).toBe('PUT');
    await expect(kv.put(`usage-v${usageProjection.version}`, new Uint8Array([1]))).rejects.toThrow(
      /Permissions Violation/,
    );
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await expect(jsm.streams.delete(`KV_${CHECKPOINT_BUCKET}`)).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(jsm.streams.purge(`KV_${CHECKPOINT_BUCKET}`)).rejects.toThrow(
      /Permissions Violation/,
    );
  });
});
