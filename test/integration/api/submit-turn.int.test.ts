import { jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyReadModel } from '../../../src/api/index.js';
import type { ApiContext } from '../../../src/api/api-context.js';
import { submit } from '../../../src/api/api-commands.service.js';
import { createIntakePublisher } from '../../../src/api/intake-publisher.jetstream.js';
import {
  INTAKE_STREAM,
  INTAKE_SUBJECT,
  JetStreamPublisher,
  ensureFarmStreams,
  jobIdOfIntake,
} from '../../../src/events/index.js';
import { usageProjection } from '../../../src/projections/index.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

const sent = (nc: NatsConnection) => nc.stats().outMsgs;
const body = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  user: 'ada',
  command: ['true'],
  memMb: 16,
  ...extra,
});

/**
 * The submit round trip (issue 22 point 4): a submission that names no other job reaches the
 * intake in the turn of the event loop its request arrived in, not after the turn's other work
 * (the read model's folds, other replies). Measured by the connection's sent-message count right
 * after the call, before anything is awaited. The guarantees around it stay: the reply waits
 * for JetStream's ack, a repeated Nats-Msg-Id is the same job, a bad field is named and nothing
 * is published, and a reference is still checked.
 */
describe('a submission leaves for the intake in the turn it arrived in', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let ctx: ApiContext;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectTo(server);
    await ensureFarmStreams(await jetstreamManager(nc));
    // Only what `submit` reads: the intake, the read model and usage (empty), the references'
    // look-ups (nothing exists), the clock and ids.
    ctx = {
      nc,
      intake: createIntakePublisher(nc),
      live: { model: emptyReadModel(), usage: usageProjection.initial() },
      jobModel: async () => undefined,
      archivedJob: async () => undefined,
      clock: Date.now,
      newId: randomUUID,
    } as unknown as ApiContext;
  });
  afterAll(async () => {
    ctx?.intake.close();
    await nc?.close();
    await server?.stop();
  });

  it('the intake publisher sends a lone publish at once; the log publisher at the turn end', async () => {
    const now = new JetStreamPublisher(nc, 5_000, 16, 'now');
    const turn = new JetStreamPublisher(nc, 5_000, 16);
    const payload = new TextEncoder().encode(JSON.stringify(body('lone')));
    let before = sent(nc);
    const a = now.publish(INTAKE_SUBJECT, payload, `now-${randomUUID()}`);
    expect(sent(nc)).toBe(before + 1);
    before = sent(nc);
    const b = turn.publish(INTAKE_SUBJECT, payload, `turn-${randomUUID()}`);
    expect(sent(nc)).toBe(before);
    expect((await Promise.all([a, b])).map((o) => o.kind)).toEqual(['stored', 'stored']);
    await now.close();
    await turn.close();
  });

  it('publishes before its first await, answers the acked sequence, dedupes a repeated id', async () => {
    const h = headers();
    h.set('Nats-Msg-Id', `repeat-${randomUUID()}`);
    const req = { caller: { op: 'submit' }, body: body('first'), headers: h };
    const before = sent(nc);
    const reply = submit(ctx, req);
    expect(sent(nc)).toBe(before + 1);
    const { jobId } = (await reply) as { jobId: string; duplicate?: boolean };
    expect(jobId).toMatch(/^j\d+$/);
    const again = await submit(ctx, req);
    expect(again).toEqual({ jobId, duplicate: true });
    expect(jobIdOfIntake(Number(jobId.slice(1)))).toBe(jobId);
  });

  it('a bad field is named and nothing is published', async () => {
    const before = sent(nc);
    await expect(
      submit(ctx, { caller: { op: 'submit' }, body: body('bad', { cpus: -1 }) }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/cpus/) });
    expect(sent(nc)).toBe(before);
  });

  it('a reference is still checked before anything is published', async () => {
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(INTAKE_STREAM)).state.messages;
    await expect(
      submit(ctx, { caller: { op: 'submit' }, body: body('after', { after: ['j999999'] }) }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      details: { issues: [{ path: 'after[0]', message: 'job j999999 does not exist' }] },
    });
    expect((await jsm.streams.info(INTAKE_STREAM)).state.messages).toBe(before);
  });
});
