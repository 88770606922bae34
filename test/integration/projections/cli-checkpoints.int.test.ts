import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamEventLog, ensureEventStream } from '../../../src/events/index.js';
import {
  CHECKPOINT_BUCKET,
  checkpointKey,
  openKvCheckpointReader,
  startCheckpointWriter,
  usageProjection,
} from '../../../src/projections/index.js';
import { startRolesServer } from '../../support/api-roles.js';
import { quietLogger } from '../../support/farm.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';
import { useEventLog } from '../../support/nats-client.js';
import { appendAll } from '../../support/projection-fixture.js';
import { farmHistory } from '../../support/projection-history.js';
import { droverArgv } from '../../support/cli-main.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';

const farm = useEventLog({ beforeAll, afterAll });
const KV_STREAM = `KV_${CHECKPOINT_BUCKET}`;
const USAGE_KEY = checkpointKey(usageProjection);

/** The projection commands as a child process, with exactly `env` for the NATS variables. */
function drover(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['DROVER_NATS_USER', 'DROVER_NATS_PASS', 'DROVER_NATS_CREDS']) delete base[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, droverArgv(args), { env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The checkpoint bucket's stream as a fingerprint: absent, or its message count and last seq. */
async function bucketState(jsm: JetStreamManager): Promise<string> {
  try {
    const { state } = await jsm.streams.info(KV_STREAM);
    return `messages=${state.messages} last=${state.last_seq} bytes=${state.bytes}`;
  } catch (err) {
    if (/stream not found/i.test((err as Error).message)) return 'absent';
    throw err;
  }
}

const READS = [
  ['usage', '--by', 'user', '--json'],
  ['fairshare', '--json'],
  ['audit', 'ckj0', '--json'],
  ['replay', '--json'],
  ['replay', '--until', '5', '--json'],
  ['replay', '--verify', '--json'],
];

describe('projection commands read checkpoints, never write them (real nats-server)', () => {
  let jsm: JetStreamManager;
  /** The commands, answered by a long-lived CLI process (cli-session.ts), not a start each. */
  let session: CliSession;

  beforeAll(async () => {
    session = cliSession(farm.server.url, [{}]);
    jsm = await jetstreamManager(farm.nc);
    await appendAll(farm.log, farmHistory(11, { jobs: 5, tag: 'ck' }));
  });
  afterAll(async () => session?.stop());

  it('with no checkpoint bucket, every command works from zero and creates none', async () => {
    for (const args of READS) {
      const r = await session.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(await bucketState(jsm)).toBe('absent');
  }, 60_000);

  it("the service's writer saves them; the commands restore from them and leave them as they were", async () => {
    const writer = await startCheckpointWriter({ nc: farm.nc, logger: quietLogger });
    const reader = await openKvCheckpointReader(farm.nc);
    expect((await reader.load(USAGE_KEY))?.seq).toBe(await farm.log.lastSeq());
    await writer.stop();
    const before = await bucketState(jsm);
    expect(before).not.toBe('absent');
    for (const args of READS) {
      const r = await session.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(await bucketState(jsm), args.join(' ')).toBe(before);
    }
    const verify = await session.run(['replay', '--verify', '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ verify: { equal: true } });
    expect((JSON.parse(verify.stdout) as { restored: string[] }).restored.length).toBeGreaterThan(
      0,
    );
  }, 60_000);

  it('the writer keeps checkpointing what is appended while it runs', async () => {
    const writer = await startCheckpointWriter({
      nc: farm.nc,
      logger: quietLogger,
      checkpointEvery: { events: 1, ms: 0 },
    });
    await appendAll(farm.log, farmHistory(12, { jobs: 1, tag: 'ck2' }));
    const last = await farm.log.lastSeq();
    await writer.runner.waitFor(last);
    await writer.stop();
    const cp = await (await openKvCheckpointReader(farm.nc)).load(USAGE_KEY);
    expect(cp?.seq).toBe(last);
  }, 60_000);
});

describe('projection commands connect like every command: user/pass and creds', () => {
  it('DROVER_NATS_USER/PASS: a role from nats.roles.conf is let in; without them, exit 5', async () => {
    const roles = await startRolesServer();
    try {
      const nc = await roles.as('admin');
      await ensureEventStream(await jetstreamManager(nc));
      await appendAll(await createJetStreamEventLog(nc), farmHistory(13, { jobs: 2, tag: 'au' }));
      await nc.close();
      const url = { DROVER_NATS_URL: roles.server.url };
      const admin = {
        ...url,
        DROVER_NATS_USER: 'admin',
        DROVER_NATS_PASS: process.env.DROVER_ADMIN_PASS ?? '',
      };
      const ok = await drover(admin, 'usage', '--by', 'user', '--json');
      expect(ok.code, ok.stderr).toBe(0);
      expect((JSON.parse(ok.stdout) as unknown[]).length).toBeGreaterThan(0);
      const anonymous = await drover(url, 'usage', '--json');
      expect(anonymous.code).toBe(5);
      // With --json the error is the JSON document on stdout (CONTRACT), as for every command.
      const { error } = JSON.parse(anonymous.stdout) as {
        error: { code: string; message: string };
      };
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toMatch(/authoriz/i);
      const plain = await drover(url, 'usage');
      expect(plain.code).toBe(5);
      expect(plain.stderr).toMatch(/^error: UNAVAILABLE: .*authoriz/im);
    } finally {
      await roles.server.stop();
    }
  }, 60_000);

  it('DROVER_NATS_CREDS: an nkey user signs in with its creds file', async () => {
    const user = createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    let server: NatsServer | undefined;
    const dir = await mkdtemp(join(tmpdir(), 'drover-creds-'));
    try {
      server = await startNatsServer({
        extraConfig: `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }`,
      });
      // Outside operator mode the server checks the nkey's signature and ignores the JWT part.
      const creds = join(dir, 'cli.creds');
      await writeFile(
        creds,
        '-----BEGIN NATS USER JWT-----\nunused\n------END NATS USER JWT------\n\n' +
          `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
      );
      const nc = await connect({
        servers: server.url,
        authenticator: credsAuthenticator(new TextEncoder().encode(await readFile(creds, 'utf8'))),
      });
      await ensureEventStream(await jetstreamManager(nc));
      await nc.close();
      const url = { DROVER_NATS_URL: server.url };
      const ok = await drover({ ...url, DROVER_NATS_CREDS: creds }, 'fairshare', '--json');
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual([]);
      const anonymous = await drover(url, 'fairshare', '--json');
      expect(anonymous.code).toBe(5);
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
