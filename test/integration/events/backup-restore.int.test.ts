import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamEventLog, type EventLog } from '../../../src/events/index.js';
import {
  allProjections,
  createProjectionRunner,
  type Until,
} from '../../../src/projections/index.js';
import { LEASE_BUCKET } from '../../../src/scheduler/lease.jetstream.js';
import { drover, tempFile } from '../../support/drover-cli.js';
import { startFarm, type Farm } from '../../support/farm.js';
import { connectTo } from '../../support/nats-client.js';
import { startNatsServer, type NatsServer } from '../../support/nats-server.js';

/** Every projection rebuilt from zero (up to `until`), as plain JSON. */
async function projectionsOf(log: EventLog, until?: Until): Promise<Record<string, unknown>> {
  const projections = allProjections();
  const runner = createProjectionRunner({ log, projections });
  await runner.start(until ? { until } : { fromZero: true });
  const out: Record<string, unknown> = { seq: runner.seq, events: runner.events };
  for (const p of projections) out[p.name] = p.snapshot(runner.state(p.name));
  await runner.stop();
  return out;
}

describe('drover backup and restore', () => {
  let farm: Farm;
  let target: NatsServer;
  let file: Awaited<ReturnType<typeof tempFile>>;

  beforeAll(async () => {
    farm = await startFarm({ agents: 2 });
    target = await startNatsServer();
    file = await tempFile('farm.backup');
  });
  afterAll(async () => {
    await farm?.stop();
    await target?.stop();
    await file?.done();
  });

  it('restores a farm into a fresh server at the same sequences, to the same projections', async () => {
    const jobs = await Promise.all([
      farm.submit({ name: 'one', user: 'alice', command: ['true'] }),
      farm.submit({ name: 'chunked', user: 'bob', command: ['true'], chunks: 3 }),
      farm.submit({ name: 'fails', user: 'alice', command: ['false'] }),
    ]);
    for (const id of jobs) await farm.waitFor(id);
    // The scheduler stops first: the log is quiet while it is backed up and compared.
    await farm.scheduler?.stop();
    const sourceEpoch = (await (await new Kvm(farm.nc).open(LEASE_BUCKET)).get('leader'))?.json<{
      epoch: number;
    }>().epoch;

    const backup = await drover(farm.server.url, ['backup', file.path, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const made = JSON.parse(backup.stdout) as {
      streams: Record<string, { lastSeq: number; messages: number }>;
      leaseEpoch: number;
    };
    const lastSeq = made.streams.DROVER_EVENTS?.lastSeq as number;
    expect(made.streams.DROVER_EVENTS?.messages).toBe(lastSeq);
    expect(made.leaseEpoch).toBe(sourceEpoch);

    const restored = await drover(target.url, ['restore', file.path, '--json']);
    expect(restored.code, restored.stderr).toBe(0);

    const nc = await connectTo(target);
    try {
      const log = await createJetStreamEventLog(nc);
      expect(await log.lastSeq()).toBe(lastSeq);
      const source = await projectionsOf(farm.log, { seq: lastSeq });
      expect(await projectionsOf(log)).toEqual(source);
      const lease = (await (await new Kvm(nc).open(LEASE_BUCKET)).get('leader'))?.json<{
        epoch: number;
        released: boolean;
      }>();
      expect(lease).toMatchObject({ epoch: sourceEpoch, released: true });
      await log.close();
    } finally {
      await nc.close();
    }

    const verify = await drover(target.url, ['verify', '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ whole: true, messages: lastSeq });

    // A farm that has events already is not a restore target.
    const again = await drover(target.url, ['restore', file.path, '--json']);
    expect(again.code).toBe(4);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'REFUSED' } });
  });
});
