import { randomUUID } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntityRuntime, jobBehaviour, stateName } from '../../../src/actors/index.js';
import { chunkId, type RecordedEvent } from '../../../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, polling; fails naming `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

/** Chunk ids of `jobId` live on `node` now: assigned or started there, not ended since. */
async function liveOn(farm: Farm, jobId: string, chunks: number, node: string) {
  const out: string[] = [];
  for (let i = 0; i < chunks; i++) {
    const events = await farm.events('chunk', chunkId(jobId, i));
    const last = events.at(-1);
    const assigned = events.filter((e) => e.type === 'chunk.assigned').at(-1);
    const live = last?.type === 'chunk.assigned' || last?.type === 'chunk.started';
    if (live && (assigned?.data as { node?: string } | undefined)?.node === node)
      out.push(chunkId(jobId, i));
  }
  return out;
}

const ofType = (events: RecordedEvent[], type: string) => events.filter((e) => e.type === type);

/**
 * Pipelining (DROVER_PIPELINE): the scheduler gives a node a second round of work while its
 * slots are full, and the agent starts each launch as a process exits. The node's capacity still
 * holds at every start, a cancel reaches a launch that waits (it never starts), and a dead
 * agent's waiting launches run elsewhere, each chunk succeeding once.
 */
describe('pipelining', () => {
  let farm: Farm;
  const runtime = () => createEntityRuntime({ eventLog: farm.log });
  let doomed: DroverProcess | undefined;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, pipeline: true, nodeLostMs: 1500 });
  }, 30_000);
  afterAll(async () => {
    await doomed?.kill9();
    await farm?.stop();
  }, 60_000);

  it('pre-assigns a second round and never runs more than the node holds at once', async () => {
    await farm.startAgent('pipe-a', { cpus: 2 });
    const trace = join(farm.dataDir, `trace-${randomUUID()}`);
    // Each process writes + as it starts and - as it ends (appends land in order): the running
    // count read back never exceeds the node's 2 CPUs if every start waited for room.
    const script = `echo + >> ${trace}; sleep 0.4; echo - >> ${trace}`;
    const n = 8;
    const id = await farm.submit({
      name: 'pipe',
      user: 'alice',
      command: ['sh', '-c', script],
      cpus: 1,
      memMb: 16,
      chunks: n,
    });
    await until('four chunks live at once on the 2-CPU node', async () => {
      return (await liveOn(farm, id, n, 'pipe-a')).length >= 4;
    });
    const job = await farm.waitFor(id, undefined, 60_000);
    expect(stateName(job)).toBe('succeeded');
    let running = 0;
    let most = 0;
    for (const line of (await readFile(trace, 'utf8')).split('\n').filter(Boolean)) {
      running += line === '+' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
    for (let i = 0; i < n; i++) {
      const chunk = await farm.events('chunk', chunkId(id, i));
      expect(ofType(chunk, 'chunk.succeeded')).toHaveLength(1);
      expect(ofType(chunk, 'chunk.assigned')).toHaveLength(1);
    }
  }, 90_000);

  it('a cancel reaches a launch waiting for a slot: it never starts, and the cancel does not wait for the slot', async () => {
    await farm.startAgent('pipe-b', { cpus: 1, labels: { lane: 'b' } });
    const marker = join(farm.dataDir, `started-${randomUUID()}`);
    const long = await farm.submit({
      name: 'holder',
      user: 'bob',
      command: ['sleep', '6'],
      cpus: 1,
      memMb: 16,
      labels: { lane: 'b' },
    });
    await farm.waitFor(long, ['running'], 30_000);
    const waiting = await farm.submit({
      name: 'waiting',
      user: 'bob',
      command: ['touch', marker],
      cpus: 1,
      memMb: 16,
      labels: { lane: 'b' },
    });
    await until('the second job pre-assigned to the busy node', async () => {
      return (await liveOn(farm, waiting, 1, 'pipe-b')).length === 1;
    });
    expect(stateName(await farm.job(long))).toBe('running');
    const cancelledFrom = Date.now();
    const cancel = await runtime().execute(jobBehaviour, waiting, {
      type: 'RequestCancel',
      id: randomUUID(),
      at: Date.now(),
      by: { kind: 'admin', id: 'ops' },
      data: { reason: 'not needed after all' },
    } as never);
    expect(cancel.ok).toBe(true);
    expect(stateName(await farm.waitFor(waiting, undefined, 30_000))).toBe('cancelled');
    // Confirmed while the slot's holder still ran: the kill took the launch out of the line.
    expect(stateName(await farm.job(long))).toBe('running');
    expect(Date.now() - cancelledFrom).toBeLessThan(5_000);
    expect(stateName(await farm.waitFor(long, undefined, 30_000))).toBe('succeeded');
    await sleep(500);
    await expect(access(marker)).rejects.toThrow();
    const worker = await farm.events('worker', `${chunkId(waiting, 0)}:1`);
    expect(worker.map((e) => e.type)).not.toContain('worker.started');
  }, 90_000);

  it("a killed agent's pre-assigned work runs elsewhere, each chunk succeeding once", async () => {
    const env = {
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: join(farm.dataDir, 'doomed'),
      DROVER_HEARTBEAT_MS: '250',
    };
    doomed = spawnDrover(
      ['agent', '--node', 'doomed', '--cpus', '1', '--mem', '1G', '--label', 'lane=c'],
      env,
    );
    await until('doomed ready', async () =>
      (await farm.events('node', 'doomed')).some((e) => e.type === 'node.ready'),
    );
    const n = 3;
    const id = await farm.submit({
      name: 'stranded',
      user: 'carol',
      command: ['sleep', '2'],
      cpus: 1,
      memMb: 16,
      chunks: n,
      retries: 0,
      labels: { lane: 'c' },
    });
    await until('two chunks live on the 1-CPU node (one running, one waiting)', async () => {
      return (await liveOn(farm, id, n, 'doomed')).length >= 2;
    });
    const stranded = await liveOn(farm, id, n, 'doomed');
    await doomed.kill9();
    await farm.startAgent('spare', { cpus: 4, labels: { lane: 'c' } });
    expect(stateName(await farm.waitFor(id, undefined, 60_000))).toBe('succeeded');
    for (let i = 0; i < n; i++) {
      const chunk = await farm.events('chunk', chunkId(id, i));
      expect(ofType(chunk, 'chunk.succeeded')).toHaveLength(1);
      const assigned = ofType(chunk, 'chunk.assigned').at(-1)?.data as { node: string };
      expect(assigned.node).toBe('spare');
    }
    // The launch that waited on the dead node failed as lost without ever starting there.
    const neverStarted = [];
    for (const cid of stranded) {
      const failed = ofType(await farm.events('chunk', cid), 'chunk.attempt_failed')[0];
      expect(failed?.data).toMatchObject({ attempt: 1, cause: 'NodeLost' });
      const first = await farm.events('worker', `${cid}:1`);
      if (!first.some((e) => e.type === 'worker.started')) neverStarted.push(cid);
    }
    expect(neverStarted.length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
