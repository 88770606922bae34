import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFarm } from '../../../src/cli/connection.js';
import { EVENTS_STREAM, INTAKE_STREAM } from '../../../src/events/index.js';
import { startNatsCluster, type NatsCluster } from '../../support/nats-cluster.js';

const FARM_STREAMS = [EVENTS_STREAM, 'DROVER_WORK', INTAKE_STREAM, 'DROVER_REJECTED'];
const FARM_BUCKETS = ['KV_drover_scheduler', 'KV_drover_projections'];

/**
 * Replicas are the operator's (CONTRACT: `DROVER_REPLICAS`, never lowered on an existing stream
 * or bucket). Before this, every service start updated the streams to one replica and the KV
 * buckets were created at R1 whatever was asked: a farm set up at R3 silently dropped to R1 the
 * first time an agent started.
 */
describe('replicas on a three-server cluster', () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  const replicasOf = async (names: readonly string[]) =>
    Object.fromEntries(
      await Promise.all(
        names.map(async (n) => [n, (await jsm.streams.info(n)).config.num_replicas] as const),
      ),
    );
  const start = async (vars: Record<string, string>) => {
    const nc = await connectFarm(cluster.url, vars);
    await nc.close();
  };

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    admin = await connect({ servers: [...cluster.servers], noAsyncTraces: true });
    jsm = await jetstreamManager(admin);
  }, 30_000);
  afterAll(async () => {
    await admin?.close();
    await cluster?.stop();
  });

  it('DROVER_REPLICAS=3 creates every stream and bucket at R3', async () => {
    await start({ DROVER_REPLICAS: '3' });
    const all = await replicasOf([...FARM_STREAMS, ...FARM_BUCKETS]);
    expect(all).toEqual(Object.fromEntries([...FARM_STREAMS, ...FARM_BUCKETS].map((n) => [n, 3])));
    const info = await jsm.streams.info(EVENTS_STREAM);
    expect(info.cluster?.replicas?.length).toBe(2);
  });

  it('a service started with replicas unset or 1 does not lower them', async () => {
    await start({});
    await start({ DROVER_REPLICAS: '1' });
    const all = await replicasOf([...FARM_STREAMS, ...FARM_BUCKETS]);
    expect(Object.values(all)).toEqual(Array(6).fill(3));
  });

  it("keeps an operator's tuning, and restores only what the log relies on", async () => {
    const intake = (await jsm.streams.info(INTAKE_STREAM)).config;
    await jsm.streams.update(INTAKE_STREAM, { ...intake, max_age: nanos(24 * 3600 * 1000) });
    const events = (await jsm.streams.info(EVENTS_STREAM)).config;
    await jsm.streams.update(EVENTS_STREAM, {
      ...events,
      duplicate_window: nanos(60_000),
      allow_direct: false,
    });
    await start({ DROVER_REPLICAS: '1' });
    expect((await jsm.streams.info(INTAKE_STREAM)).config.max_age).toBe(nanos(24 * 3600 * 1000));
    const after = (await jsm.streams.info(EVENTS_STREAM)).config;
    expect(after.duplicate_window).toBe(nanos(60_000));
    expect(after.allow_direct).toBe(true);
    expect(after.num_replicas).toBe(3);
  });

  it('raises R1 streams and buckets when asked, and refuses a bad DROVER_REPLICAS', async () => {
    for (const n of [...FARM_STREAMS, ...FARM_BUCKETS]) await jsm.streams.delete(n);
    await start({});
    expect(Object.values(await replicasOf([...FARM_STREAMS, ...FARM_BUCKETS]))).toEqual(
      Array(6).fill(1),
    );
    await start({ DROVER_REPLICAS: '3' });
    expect(Object.values(await replicasOf([...FARM_STREAMS, ...FARM_BUCKETS]))).toEqual(
      Array(6).fill(3),
    );
    await expect(start({ DROVER_REPLICAS: 'three' })).rejects.toThrow(/DROVER_REPLICAS=three/);
  });
});
