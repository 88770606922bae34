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
});
