import { jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiClient,
  startApiService,
  type ApiClient,
  type ApiService,
} from '../../../src/api/index.js';
import { exitCodeOf } from '../../../src/cli/exit-codes.js';
import {
  EVENTS_STREAM,
  INTAKE_STREAM,
  SchedulerError,
  ensureFarmStreams,
} from '../../../src/events/index.js';
import { quietLogger } from '../../support/farm.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

const valid = { name: 'fuzz', user: 'fuzzer', command: ['true'] };

/** Per field of the submit body, values that must be refused (wrong type, absurd, empty). */
const invalid: Record<string, unknown[]> = {
  name: ['', 42, null, [], 'x'.repeat(201)],
  user: ['', false, 'u'.repeat(65), {}],
  command: [[], 'ls -l', [1, 2], Array.from({ length: 5000 }, () => 'a'), [null]],
  cpus: [-1, 0, 1e9, 'two', Infinity, -Infinity, NaN, 1e308],
  memMb: [1.5, -5, 2 ** 60, '512M', 0],
  gpus: [-1, 0.5, 1e6, '1'],
  chunks: [0, 1e7, 2.5, -3, Number.MAX_SAFE_INTEGER * 4],
  retries: [-1, 101, 'a lot'],
  timeoutS: [0, 1e12, -60, '30m'],
  after: ['j1', [''], ['a.b'], [7]],
  parent: ['a b', '', 5, 'x>y'],
  labels: [[], { k: 5 }, 'gpu=a100'],
  excludeNodes: ['node-1', [5], ['*']],
  priority: [1e7, 0.5, -1e7, 'high'],
  env: [{ A: 5 }, 'A=1', []],
  cwd: ['', 5, []],
};

const fieldCase = fc
  .constantFrom(...Object.keys(invalid))
  .chain((field) =>
    fc.constantFrom(...(invalid[field] as unknown[])).map((value) => ({ field, value })),
  );
const unknownField = fc
  .string({ minLength: 1, maxLength: 20 })
  .filter((k) => !(k in invalid) && /^[a-z_]+$/i.test(k) && k !== '__proto__')
  .map((field) => ({ field, value: 'surprise' }));

describe('drover.api.submit under fuzzing (real nats-server, real API service)', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let api: ApiService;
  let json: ApiClient;
  let msgpack: ApiClient;
  const lastSeqs = async () => {
    const jsm = await jetstreamManager(nc);
    const events = await jsm.streams.info(EVENTS_STREAM);
    const intake = await jsm.streams.info(INTAKE_STREAM);
    return [events.state.last_seq, intake.state.last_seq];
  };
  const refusal = async (client: ApiClient, body: unknown) => {
    try {
      await client.call('submit', body);
    } catch (err) {
      if (err instanceof SchedulerError) return err;
      throw err;
    }
    throw new Error(`accepted: ${JSON.stringify(body).slice(0, 200)}`);
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectTo(server);
    await ensureFarmStreams(await jetstreamManager(nc));
    api = await startApiService({ nc, logger: quietLogger });
    json = createApiClient(nc);
    msgpack = createApiClient(nc, { msgpack: true });
  });
  afterAll(async () => {
    await api?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('refuses every bad field, in JSON and msgpack, naming it; writes nothing', async () => {
    const before = await lastSeqs();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fieldCase, unknownField),
        fc.boolean(),
        async ({ field, value }, useMsgpack) => {
          const err = await refusal(useMsgpack ? msgpack : json, { ...valid, [field]: value });
          expect(err.code).toBe('BAD_INPUT');
          expect(exitCodeOf(err.code)).toBe(2);
          expect(err.message).toContain(field);
          expect(JSON.stringify(err.details)).toContain('issues');
        },
      ),
      { numRuns: 300 },
    );
    expect(await lastSeqs()).toEqual(before);
  }, 120_000);

  it('refuses garbage bytes and non-object bodies, in either content type', async () => {
    const before = await lastSeqs();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.jsonValue()),
        fc.constantFrom('application/json', 'application/msgpack', ''),
        async (payload, type) => {
          const h = headers();
          if (type) h.set('Content-Type', type);
          const data =
            payload instanceof Uint8Array
              ? payload
              : new TextEncoder().encode(JSON.stringify(payload));
          const msg = await nc.request('drover.api.submit', data, { timeout: 5_000, headers: h });
          const reply =
            type === 'application/msgpack'
              ? ((await import('msgpackr')).unpack(msg.data) as {
                  ok: boolean;
                  error?: { code: string };
                })
              : (JSON.parse(msg.string()) as { ok: boolean; error?: { code: string } });
          expect(reply.ok).toBe(false);
          expect(reply.error?.code).toBe('BAD_INPUT');
        },
      ),
      { numRuns: 200 },
    );
    expect(await lastSeqs()).toEqual(before);
  }, 120_000);

  it('refuses huge bodies by size, and keeps serving: a valid submission is then accepted', async () => {
    const before = await lastSeqs();
    const huge = await refusal(json, { ...valid, env: { BIG: 'x'.repeat(600 * 1024) } });
    expect(huge.code).toBe('BAD_INPUT');
    expect(huge.message).toMatch(/^body: /);
    const long = await refusal(json, { ...valid, env: { BIG: 'x'.repeat(70_000) } });
    expect(long.message).toContain('env.BIG');
    expect(await lastSeqs()).toEqual(before);
    const accepted = await json.submit({ ...valid, chunks: 2 });
    expect(accepted.jobId).toMatch(/^j\d+$/);
    const again = await msgpack.submit({ ...valid }, { msgId: 'same' });
    const dup = await msgpack.submit({ ...valid }, { msgId: 'same' });
    expect(dup).toEqual({ ok: true, jobId: again.jobId, duplicate: true });
  }, 60_000);
});
