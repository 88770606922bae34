import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { connectFarm } from '../../../src/cli/connection.js';
import { EVENTS_STREAM, isCorrupt, type ReplayItem, type Tail } from '../../../src/events/index.js';
import { ev, jobSpec, uid } from '../../support/events.js';
import { startFarm, type Farm } from '../../support/farm.js';
import {
  startNatsCluster,
  stepDownStream,
  streamLeader,
  waitForStreamLeader,
  type NatsCluster,
} from '../../support/nats-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_STREAM = 'KV_drover_scheduler';

/**
 * The farm on a three-server cluster at R3 (DESIGN.md: "losing one nats-server of a cluster loses
 * no accepted job"): through a stream leader stepdown and through SIGKILL of the server leading
 * the event stream, a writer's appends go on, a tail from the start neither skips nor repeats a
 * sequence, the scheduler keeps its lease (same epoch) and jobs submitted meanwhile finish.
 */
describe('a farm on a three-server cluster through leader changes', () => {
  let cluster: NatsCluster;
  let farm: Farm;
  let tail: Tail;
  const seqs: number[] = [];
  const appended = new Set<string>();
  let tailing: Promise<void>;
  let stopWriter = false;
  let writer: Promise<void>;
  /** Ack times of the writer's appends: the longest gap is what a leader change cost it. */
  const acks: number[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    await (await connectFarm(cluster.url, { DROVER_REPLICAS: '3' })).close();
    farm = await startFarm({ cluster, agents: 2, cpus: 4, leaseTtlMs: 3_000 });
    tail = farm.log.tail({ fromSeq: 1 });
    tailing = (async () => {
      for await (const item of tail as AsyncIterable<ReplayItem>)
        seqs.push(isCorrupt(item) ? item.seq : item.recorded.seq);
    })();
    // A steady writer: entities waiting on a job that never comes cost the farm nothing.
    writer = (async () => {
      while (!stopWriter) {
        const id = uid('W');
        const events = [ev('job.submitted', jobSpec({ after: [uid('none')], memMb: 16 }))];
        for (;;) {
          // A retry carries the same event id: a landed first try is answered 'duplicate'.
          const r = await farm.log
            .append('job', id, events, { expectedSeq: 0 })
            .catch(() => undefined);
          if (r?.ok) break;
          await sleep(50);
        }
        appended.add(id);
        acks.push(Date.now());
        await sleep(20);
      }
    })();
  }, 60_000);

  afterAll(async () => {
    stopWriter = true;
    await writer;
    await tail?.stop();
    await tailing;
    await farm?.stop();
    await cluster?.stop();
  }, 60_000);

  /** The longest wait between two acknowledged appends from the last one before `from`. */
  const maxGap = (from: number) => {
    const i = acks.findIndex((a) => a >= from);
    const t = i < 0 ? [] : acks.slice(Math.max(0, i - 1));
    return t.slice(1).reduce((m, a, i) => Math.max(m, a - (t[i] as number)), 0);
  };
  const submit = (name: string) =>
    farm.submit({
      name,
      user: 'alice',
      command: ['sleep', '0.3'],
      chunks: 2,
      cpus: 0.5,
      memMb: 16,
    });

  it('streams and buckets are at R3 and the farm runs a job', async () => {
    const epoch = farm.scheduler?.epoch;
    expect(epoch).toBe(1);
    const id = await submit('warm-up');
    expect(stateName(await farm.waitFor(id))).toBe('succeeded');
  });

  it('a stepdown of the event stream and the lease bucket leaders', async () => {
    const t0 = Date.now();
    const before = acks.length;
    const id = await submit('during-stepdown');
    const events = await stepDownStream(farm.nc, EVENTS_STREAM);
    const lease = await stepDownStream(farm.nc, LEASE_STREAM);
    expect(stateName(await farm.waitFor(id))).toBe('succeeded');
    await sleep(500);
    expect(acks.length).toBeGreaterThan(before);
    console.log(
      `stepdown: ${EVENTS_STREAM} ${events.from}->${events.to} in ${Math.round(events.ms)} ms, ` +
        `${LEASE_STREAM} ${lease.from}->${lease.to} in ${Math.round(lease.ms)} ms, ` +
        `writer's longest gap between acks ${maxGap(t0)} ms`,
    );
    expect(farm.scheduler?.epoch).toBe(1);
  }, 60_000);

  it('SIGKILL of the server leading the event stream, restarted after', async () => {
    const leader = await streamLeader(farm.nc, EVENTS_STREAM);
    const victim = cluster.member(leader as string);
    const t0 = Date.now();
    const before = acks.length;
    await victim.kill();
    const id = await submit('during-kill');
    const next = await waitForStreamLeader(farm.nc, EVENTS_STREAM, (l) => l !== leader, 30_000);
    const elected = Date.now() - t0;
    while (acks.length === before) await sleep(10);
    const firstAck = (acks[before] as number) - t0;
    expect(stateName(await farm.waitFor(id, undefined, 60_000))).toBe('succeeded');
    await victim.start();
    const back = await submit('after-restart');
    expect(stateName(await farm.waitFor(back, undefined, 60_000))).toBe('succeeded');
    console.log(
      `kill -9 of ${leader}: ${EVENTS_STREAM} led by ${next} after ${elected} ms, ` +
        `first ack after the kill at ${firstAck} ms, writer's longest gap ${maxGap(t0)} ms`,
    );
    expect(farm.scheduler?.epoch).toBe(1);
  }, 120_000);

  it('the tail saw every sequence once, in order, and every append is in the log once', async () => {
    stopWriter = true;
    await writer;
    const last = await farm.log.lastSeq();
    const deadline = Date.now() + 20_000;
    while ((seqs.at(-1) ?? 0) < last && Date.now() < deadline) await sleep(50);
    expect(seqs.length).toBe(last);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    for (const id of appended) expect((await farm.events('job', id)).length).toBe(1);
    console.log(`tail: ${seqs.length} events, writer: ${appended.size} appends`);
  }, 60_000);
});
