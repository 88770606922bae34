import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFarm } from '../../../src/cli/connection.js';
import { createJetStreamEventLog, type JetStreamEventLog } from '../../../src/events/index.js';
import { ev, jobSpec, uid } from '../../support/events.js';
import { startNatsCluster, type NatsCluster } from '../../support/nats-cluster.js';

/**
 * Two writers appending to one entity at once, each expecting the same last sequence, on a
 * clustered stream. Clustered, nats-server refuses the second while the first is still being
 * replicated with err_code 10164 ("wrong last sequence", no number), where a single server
 * answers 10071 ("wrong last sequence: <seq>"). Both are the same optimistic-concurrency
 * conflict; the log took only 10071 as one and turned 10164 into an UNAVAILABLE error, so the
 * caller did not reload and decide again: in the chaos run an agent's chunk.started was lost
 * that way (its launch failed, its process ran unwatched) and the job stayed running for ever.
 */
describe('conditional appends racing on a three-server cluster', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let log: JetStreamEventLog;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connectFarm(cluster.url, { DROVER_REPLICAS: '3' });
    log = await createJetStreamEventLog(nc);
  }, 60_000);
  afterAll(async () => {
    await log?.close();
    await nc?.close();
    await cluster?.stop();
  });

  it('one append wins, the other is a conflict, never an error', async () => {
    const refusals: string[] = [];
    for (let round = 0; round < 30; round++) {
      const id = uid('race');
      const first = await log.append('job', id, [ev('job.submitted', jobSpec())]);
      expect(first.ok).toBe(true);
      const expectedSeq = first.ok ? first.seqs[0]! : 0;
      const racing = await Promise.allSettled(
        [0, 1].map(() => log.append('job', id, [ev('job.queued', {})], { expectedSeq })),
      );
      for (const r of racing) if (r.status === 'rejected') refusals.push(String(r.reason));
      const outcomes = racing.flatMap((r) => (r.status === 'fulfilled' ? [r.value.ok] : []));
      if (outcomes.length === 2) expect(outcomes.sort()).toEqual([false, true]);
    }
    expect(refusals).toEqual([]);
  }, 120_000);
});
