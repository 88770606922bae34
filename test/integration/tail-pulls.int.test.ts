import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCorrupt } from '../../src/events/index.js';
import { ev, jobSpec, uid } from '../support/events.js';
import { useEventLog } from '../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The tail keeps pull requests open ahead of what arrived. The server spreads deliveries over
 * its waiting requests and ends each unfilled one with a 408 after it expires (2 s): a tail that
 * miscounts what is still requested believes pulls are open when none are, and sits idle until
 * its watchdog reopens the consumer (6 s). Seen in the field as a scheduler that took 6 s to
 * react to a cancel after a burst.
 */
describe('tail pull accounting', () => {
  it('delivers an event at once after bursts that end unfilled pull requests', async () => {
    const tail = farm.log.tail({ fromSeq: (await farm.log.lastSeq()) + 1 });
    let seen = 0;
    const reading = (async () => {
      for await (const item of tail) if (!isCorrupt(item)) seen++;
    })();
    let total = 0;
    for (const burst of [5_000, 6_500]) {
      await Promise.all(
        Array.from({ length: burst }, () =>
          farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
        ),
      );
      total += burst;
      await sleep(2_600); // every open pull request expires meanwhile
      const t0 = Date.now();
      await farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
      total++;
      while (seen < total && Date.now() - t0 < 10_000) await sleep(10);
      expect(seen).toBe(total);
      expect(Date.now() - t0).toBeLessThan(1_500);
    }
    await tail.stop();
    await reading;
  }, 60_000);

  it('a steady trickle reaches the tail without a stall, however its pull requests end', async () => {
    // Several pull requests open and partly filled when they expire together: nats-server 2.9
    // was seen to end only one of them with a 408 and drop the rest when they shared one reply
    // subject, and the tail stalled 6 s (one run in three of a 20 s trickle in the benchmark).
    const tail = farm.log.tail({ fromSeq: (await farm.log.lastSeq()) + 1 });
    const sentAt = new Map<string, number>();
    let worst = 0;
    let seen = 0;
    const reading = (async () => {
      for await (const item of tail) {
        if (isCorrupt(item)) continue;
        const id = item.recorded.subject.slice(item.recorded.subject.lastIndexOf('.') + 1);
        worst = Math.max(worst, Date.now() - (sentAt.get(id) ?? Date.now()));
        seen++;
      }
    })();
    const n = 1_200; // 12 s at 100/s: six expiries of the requests in flight
    for (let i = 0; i < n; i++) {
      const id = uid();
      sentAt.set(id, Date.now());
      await farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 });
      await sleep(10);
    }
    const t0 = Date.now();
    while (seen < n && Date.now() - t0 < 10_000) await sleep(10);
    await tail.stop();
    await reading;
    expect(seen).toBe(n);
    expect(worst).toBeLessThan(1_000);
  }, 60_000);

  it('a server that stalls past the pull expiry skips nothing when it answers the old requests', async () => {
    // The server is stopped while pull requests are open: the tail gives them up as gone after
    // their expiry and asks again; the resumed server then serves the old requests first. Their
    // messages are the consumer's next ones: a tail that dropped them skipped events.
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const ids = Array.from({ length: 30_000 }, () => uid());
    for (let i = 0; i < ids.length; i += 1_000)
      await Promise.all(
        ids
          .slice(i, i + 1_000)
          .map((id) =>
            farm.log.append('job', id, [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
          ),
      );
    const lastSeq = await farm.log.lastSeq();
    const tail = farm.log.tail({ fromSeq });
    const seqs: number[] = [];
    let paused = false;
    const reading = (async () => {
      for await (const item of tail) {
        seqs.push(isCorrupt(item) ? item.seq : item.recorded.seq);
        if (!paused) {
          paused = true;
          farm.server.pause();
          await sleep(4_000); // past expiry + margin (2.5 s), short of the stall watchdog (6 s)
          farm.server.resume();
        }
        if ((seqs[seqs.length - 1] as number) >= lastSeq) break;
      }
    })();
    await reading;
    await tail.stop();
    const gaps = seqs.filter((s, i) => i > 0 && s !== (seqs[i - 1] as number) + 1);
    expect(gaps).toEqual([]);
    expect(seqs[0]).toBe(fromSeq);
    expect(new Set(seqs).size).toBe(ids.length);
  }, 60_000);

  it('a bounded read of many pull requests never waits for one to expire', async () => {
    // A filled request gets no 408: the reader must count each delivery against the request it
    // came for. It did not (a delivery's subject is the event's, not the reply subject), so it
    // thought two requests still open after every 8,192 messages and waited until it gave them
    // up as gone (expiry + margin, 2.5 s): ~3,300 events/s for every replay, catch-up and
    // compaction, whatever the machine.
    const fromSeq = (await farm.log.lastSeq()) + 1;
    for (let i = 0; i < 20_000; i += 1_000)
      await Promise.all(
        Array.from({ length: 1_000 }, () =>
          farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
        ),
      );
    let read = 0;
    let worstGap = 0;
    let at = Date.now();
    for await (const batch of farm.log.replayBatches({ fromSeq })) {
      worstGap = Math.max(worstGap, Date.now() - at);
      at = Date.now();
      read += batch.length;
    }
    expect(read).toBe(20_000);
    expect(worstGap).toBeLessThan(2_000); // a pull request's expiry
  }, 60_000);
});
