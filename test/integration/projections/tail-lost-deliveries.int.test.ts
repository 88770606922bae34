import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJetStreamEventLog,
  isCorrupt,
  type JetStreamEventLog,
} from '../../../src/events/index.js';
import { allProjections, createProjectionRunner } from '../../../src/projections/index.js';
import { ev, uid } from '../../support/events.js';
import { useEventLog } from '../../support/nats-client.js';
import { startTcpLink, type TcpLink } from '../../support/tcp-link.js';

const farm = useEventLog({ beforeAll, afterAll });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 23 point 3, the 10,000-job chaos run's `replayEqual: false` at usage `$.ended.length`.
 * A tail reads with a consumer that takes no acks: what the server delivers is gone from the
 * consumer's view at once. When the client's own server dies while the consumer's server goes
 * on (a three-server cluster: the stream leader elsewhere), what was on the way to the client is
 * lost, and the consumer, alive, goes on with the next message: the tail skipped events, and the
 * checkpoint writer's usage fold missed workers' ends that a rebuild from the log counts. Here
 * the dying hop is a TCP link that drops what the server writes, then is cut.
 */
describe('a tail whose deliveries are lost on the way, the consumer alive', () => {
  let link: TcpLink;
  let nc: NatsConnection;
  let log: JetStreamEventLog;

  beforeAll(async () => {
    link = await startTcpLink(farm.server.port);
    nc = await connect({
      servers: link.url,
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    log = await createJetStreamEventLog(nc);
  });
  afterAll(async () => {
    await log?.close();
    await nc?.close();
    await link?.close();
  });

  /** `n` workers' ends, appended through the direct connection; their sequences. */
  const ends = async (n: number): Promise<number[]> => {
    const seqs: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await farm.log.append(
        'worker',
        `${uid('J')}:0:1`,
        [
          ev('worker.exited', {
            peakRssMb: 10,
            cpuSeconds: 1,
            wallSeconds: 1,
            exitCode: 0,
            signal: null,
            cause: 'Succeeded',
          }),
        ],
        { expectedSeq: 0 },
      );
      if (!r.ok) throw new Error('append conflicted');
      seqs.push(r.seqs[0]!);
    }
    return seqs;
  };

  /** Lose what the server sends for a while (ends appended meanwhile), then cut the link. */
  const loseAndCut = async (): Promise<number[]> => {
    link.swallow(true);
    const lost = await ends(5);
    await sleep(300); // delivered by the server into the dying hop
    link.swallow(false);
    link.cut();
    return lost;
  };

  it('the tail reads every event once, in order, across the loss', async () => {
    const first = (await farm.log.lastSeq()) + 1;
    const seen: number[] = [];
    const tail = log.tail({ fromSeq: first });
    const reading = (async () => {
      for await (const item of tail) seen.push(isCorrupt(item) ? item.seq : item.recorded.seq);
    })();
    const before = await ends(5);
    while (seen.length < before.length) await sleep(20);
    const lost = await loseAndCut();
    const after = await ends(5);
    const last = after.at(-1)!;
    const t0 = Date.now();
    while (!seen.includes(last) && Date.now() - t0 < 15_000) await sleep(20);
    await tail.stop();
    await reading;
    expect(seen).toEqual([...before, ...lost, ...after]);
  }, 60_000);

  it('the last events sent before the loss are read after the reconnect, no event following', async () => {
    // No later delivery shows a jump of the consumer sequence here: only the reconnect says.
    const seen: number[] = [];
    const tail = log.tail({ fromSeq: (await farm.log.lastSeq()) + 1 });
    const reading = (async () => {
      for await (const item of tail) seen.push(isCorrupt(item) ? item.seq : item.recorded.seq);
    })();
    const before = await ends(3);
    while (seen.length < before.length) await sleep(20);
    const lost = await loseAndCut();
    const t0 = Date.now();
    while (seen.length < before.length + lost.length && Date.now() - t0 < 15_000) await sleep(20);
    await tail.stop();
    await reading;
    expect(seen).toEqual([...before, ...lost]);
  }, 60_000);

  it('the live projections equal a rebuild from the log (usage counts every ended worker)', async () => {
    const runner = createProjectionRunner({ log, projections: allProjections() });
    await runner.start();
    runner.tail();
    await runner.waitFor((await ends(5)).at(-1)!);
    await loseAndCut();
    const last = (await ends(5)).at(-1)!;
    await runner.waitFor(last, 15_000);
    await runner.stop();
    const verdict = await runner.verify();
    expect(verdict.diffs).toEqual([]);
    expect(verdict.equal).toBe(true);
  }, 60_000);
});
