import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFarmStreams } from '../../../src/events/index.js';
import { farmServer, FarmRefused } from '../../../src/cli/farm-server.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

/** Issue 21 point 6: `drover up` must not take over whatever NATS answers at the default URL. */
describe('which nats-server drover up reuses', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => server?.stop());

  it("refuses a server without Drover's streams unless DROVER_NATS_URL named it", async () => {
    await expect(farmServer(server.url, '/nonexistent', false)).rejects.toThrow(FarmRefused);
    await expect(farmServer(server.url, '/nonexistent', false)).rejects.toThrow(
      `the NATS server at ${server.url} is not Drover's`,
    );
    const named = await farmServer(server.url, '/nonexistent', true);
    expect(named).toMatchObject({ started: undefined, how: 'reused: named by DROVER_NATS_URL' });
  });

  it("reuses one that holds Drover's streams, and says so", async () => {
    const nc = await connect({ servers: server.url });
    await ensureFarmStreams(await jetstreamManager(nc));
    await nc.close();
    const reused = await farmServer(server.url, '/nonexistent', false);
    expect(reused.how).toBe("reused: it holds Drover's streams");
  });
});
