import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestMux } from '../../../src/api/request-mux.js';
import { SchedulerError } from '../../../src/events/index.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('RequestMux (the API client’s request path)', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    nc.subscribe('echo', { callback: (_e, m) => void m.respond(m.data) });
    nc.subscribe('silent', { callback: () => undefined });
    await nc.flush();
  });
  afterAll(async () => {
    await nc.close();
    await server.stop();
  });

  it('routes each of many concurrent replies to its own request', async () => {
    const mux = new RequestMux(nc);
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        mux.request('echo', enc.encode(`m${i}`), headers(), 5_000),
      ),
    );
    expect(replies.map((m) => dec.decode(m.data))).toEqual(
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
  });

  it('fails at once with no-responders when nobody listens, and times out a silent responder', async () => {
    const mux = new RequestMux(nc);
    const t0 = Date.now();
    const none = await mux
      .request('nobody.here', enc.encode('x'), headers(), 10_000)
      .catch((e) => e);
    expect(none).toBeInstanceOf(SchedulerError);
    expect(none).toMatchObject({ code: 'UNAVAILABLE', details: { kind: 'no-responders' } });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const silent = await mux.request('silent', enc.encode('x'), headers(), 300).catch((e) => e);
    expect(silent).toMatchObject({ code: 'TIMEOUT', details: { kind: 'timeout' } });
  });

  it('rejects what is pending when the connection closes', async () => {
    const own = await connect({ servers: server.url });
    const mux = new RequestMux(own);
    const pending = mux.request('silent', enc.encode('x'), headers(), 60_000).catch((e) => e);
    await own.flush();
    await own.close();
    expect(await pending).toMatchObject({ code: 'UNAVAILABLE', details: { kind: 'closed' } });
  });
});
