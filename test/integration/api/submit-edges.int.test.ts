import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { createApiClient, findRejections } from '../../../src/api/index.js';
import { SchedulerError } from '../../../src/events/index.js';
import {
  INTAKE_STREAM,
  INTAKE_SUBJECT,
  ensureFarmStreams,
  jobIdOfIntake,
} from '../../../src/events/index.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer } from '../../support/nats-server.js';

const intakeCount = async (jsm: JetStreamManager) =>
  (await jsm.streams.info(INTAKE_STREAM)).state.messages;

/**
 * A malformed submission through each way in (CLI flags, the API, a raw intake publish) is
 * refused with the offending field named, and a good one sent the same way right after still
 * becomes a job. Each way validates once where it enters; the runtime's check of each event
 * before append is a separate invariant.
 */
describe('a submission is validated where it enters, with the field named', () => {
  let farm: ApiFarm;
  let jsm: JetStreamManager;
  const cli = (...args: string[]) => drover(farm.server.url, args, { DROVER_USER: 'ada' });

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 1 });
    jsm = await jetstreamManager(farm.nc);
  }, 60_000);
  afterAll(async () => farm?.stop(), 60_000);

  it('CLI flags: refused by the API (exit 2, field named), nothing published; a good one runs', async () => {
    const before = await intakeCount(jsm);
    const bad = await cli('submit', '--cpus', '-1', '--json', '--', 'true');
    expect(bad.code).toBe(2);
    const doc = JSON.parse(bad.stdout) as {
      error: { code: string; message: string; details: { issues: { path: string }[] } };
    };
    expect(doc.error.code).toBe('BAD_INPUT');
    expect(doc.error.message).toMatch(/cpus/);
    expect(doc.error.details.issues.map((i) => i.path)).toContain('cpus');
    expect(await intakeCount(jsm)).toBe(before);
    const good = await cli('submit', '--mem', '64M', '--json', '--', 'true');
    expect(good.code, good.stderr).toBe(0);
    const { jobId } = JSON.parse(good.stdout) as { jobId: string };
    expect(stateName(await farm.waitFor(jobId))).toBe('succeeded');
  }, 60_000);

  it('API request: BAD_INPUT naming the field, nothing published; a good one runs', async () => {
    const api = createApiClient(farm.nc);
    const before = await intakeCount(jsm);
    const err = await api.submit({ name: 'x', user: 'ada', command: ['true'], memMb: 1.5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchedulerError);
    expect((err as SchedulerError).code).toBe('BAD_INPUT');
    expect((err as SchedulerError).message).toMatch(/memMb/);
    expect(await intakeCount(jsm)).toBe(before);
    const { jobId } = await api.submit({ name: 'x', user: 'ada', command: ['true'], memMb: 64 });
    expect(stateName(await farm.waitFor(jobId))).toBe('succeeded');
  }, 60_000);

  it('raw intake publish: the consumer records the rejection naming the field; a good one runs', async () => {
    const js = jetstream(farm.nc);
    const body = { name: 'raw', user: 'ada', command: ['true'], memMb: 64 };
    const bad = await js.publish(INTAKE_SUBJECT, JSON.stringify({ ...body, gpus: 'two' }));
    const good = await js.publish(INTAKE_SUBJECT, JSON.stringify(body));
    const badId = jobIdOfIntake(bad.seq);
    let rejected = await findRejections(farm.nc, badId);
    for (let i = 0; i < 100 && rejected.length === 0; i++) {
      await sleep(50);
      rejected = await findRejections(farm.nc, badId);
    }
    expect(JSON.stringify(rejected)).toMatch(/gpus/);
    expect(await farm.events('job', badId)).toEqual([]);
    expect(stateName(await farm.waitFor(jobIdOfIntake(good.seq)))).toBe('succeeded');
  }, 60_000);
});

describe('CLI with no API service: it validates before it publishes to the intake itself', () => {
  it('exit 2 naming the field, and nothing published', async () => {
    const server = await startNatsServer();
    const nc = await connectTo(server);
    try {
      const jsm = await jetstreamManager(nc);
      await ensureFarmStreams(jsm);
      const bad = await drover(server.url, ['submit', '--priority', '1.5', '--', 'true']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: BAD_INPUT: .*priority/m);
      expect(await intakeCount(jsm)).toBe(0);
      const good = await drover(server.url, ['submit', '--json', '--', 'true']);
      expect(good.code, good.stderr).toBe(0);
      expect(await intakeCount(jsm)).toBe(1);
    } finally {
      await nc.close();
      await server.stop();
    }
  }, 60_000);
});
