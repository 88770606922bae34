import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchWorker } from '../../../src/node-agent/workers.js';
import { useEventLog } from '../../support/nats-client.js';
import { agentContext, assignedLaunch } from './worker-fixture.js';

const farm = useEventLog({ beforeAll, afterAll });

/**
 * A worker's usage samples queue behind its earlier appends, and its end's report queues behind
 * them. Every supervisor samples at the same moments, so an agent stopping 100 processes met a
 * burst of samples, and each end waited for its samples' appends (~300 ms under load, issue 22).
 * A sample still queued when the process has ended is dropped: the end's event carries the
 * final figures.
 */
describe('usage samples still queued when the process ends', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'drover-samples-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('are not appended; the end is, with its figures', async () => {
    const { worker, work } = await assignedLaunch(farm.log, ['sleep', '60']);
    // Sampled every 50 ms, each sample offered to the log (no rate limit).
    const ctx = agentContext(farm.log, stateDir, { sampleMs: 50, sampleLogMs: 0 });
    expect(await launchWorker(ctx, work)).toBe(true);
    const live = ctx.live.get(worker)!;

    // The worker's appends are held up (as behind a burst of others): samples queue meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    void ctx.queue.run(worker, () => held);
    const sampledBefore = await sampled(worker);
    await new Promise((r) => setTimeout(r, 400));
    const outcome = await live.supervised.kill('cancel');
    expect(outcome.cause).toBe('Cancelled');
    release();
    while (ctx.live.size > 0 || ctx.queue.size > 0) await new Promise((r) => setTimeout(r, 20));

    const events = (await farm.log.read('worker', worker)).events;
    expect(await sampled(worker)).toBe(sampledBefore);
    const end = events.at(-1)!;
    expect(end.type).toBe('worker.killed');
    expect(end.data).toMatchObject({ cause: 'Cancelled', peakRssMb: outcome.peakRssMb });
  });
});

async function sampled(worker: string): Promise<number> {
  const events = (await farm.log.read('worker', worker)).events;
  return events.filter((e) => e.type === 'worker.sampled').length;
}
