import { jetstreamManager } from '@nats-io/jetstream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM, isCorrupt } from '../../src/events/index.js';
import { readBatches } from '../../src/events/reader.jetstream.js';
import { ev, jobSpec, uid } from '../support/events.js';
import { useEventLog } from '../support/nats-client.js';

const farm = useEventLog({ beforeAll, afterAll });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A full collection on demand, without a flag on the test runner's command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function nextValue<T>(it: AsyncIterator<T>): Promise<T | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value;
}

/** How many of `refs` survive full collections (what something still holds). */
async function alive(refs: readonly WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

async function appendBurst(n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () =>
      farm.log.append('job', uid(), [ev('job.submitted', jobSpec())], { expectedSeq: 0 }),
    ),
  );
}

/**
 * A tail spends most of its life waiting for the next event. A generator suspended in that wait
 * keeps its registers, and each `for await` layer of the read kept its last batch there: an idle
 * scheduler held its last ~10,000 raw messages (their buffers and the socket chunks they slice)
 * and the last decoded batch until the next event came (heap snapshot, 20,000 queued jobs).
 */
describe('an idle tail holds no batch it has handed over', () => {
  it('the decoded events read from the tail are free once the reader let go of them', async () => {
    // Stored before the tail starts: it reads them in a few large batches.
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const n = 3_000;
    await appendBurst(n);
    const tail = farm.log.tail({ fromSeq });
    const refs: WeakRef<object>[] = [];
    const reading = (async () => {
      for await (const item of tail) if (!isCorrupt(item)) refs.push(new WeakRef(item));
    })();
    const t0 = Date.now();
    while (refs.length < n && Date.now() - t0 < 20_000) await sleep(10);
    expect(refs.length).toBe(n);
    await sleep(200); // the tail is waiting for the next event now
    // The last one stays held twice over: by the reading loop's binding and by the tail's
    // `yield*` of its items (one event, not a batch).
    expect(await alive(refs)).toBeLessThanOrEqual(2);
    await tail.stop();
    await appendBurst(1); // wakes the stopped tail so that it ends
    await reading;
  }, 60_000);

  it('the raw messages a following read yielded are free while it waits', async () => {
    const jsm = await jetstreamManager(farm.nc);
    const abort = new AbortController();
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const n = 3_000;
    await appendBurst(n);
    const read = readBatches(farm.nc, jsm, EVENTS_STREAM, {
      fromSeq,
      follow: true,
      signal: abort.signal,
    });
    const refs: WeakRef<object>[] = [];
    // A reader that keeps nothing of a batch once it has looked at it (not `for await`).
    const reading = (async () => {
      for (;;) {
        let batch = await nextValue(read);
        if (batch === undefined) return;
        for (let i = 0; i < batch.length; i++) refs.push(new WeakRef(batch[i]!.data));
        batch = undefined;
      }
    })();
    const t0 = Date.now();
    while (refs.length < n && Date.now() - t0 < 20_000) await sleep(10);
    expect(refs.length).toBe(n);
    await sleep(200); // the read is waiting for the next message now
    expect(await alive(refs)).toBe(0);
    abort.abort();
    await appendBurst(1);
    await reading;
  }, 60_000);
});
