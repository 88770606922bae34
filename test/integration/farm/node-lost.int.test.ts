import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A node whose agent dies (kill -9) is lost after its heartbeats stop: its attempts fail with
 * `NodeLost`, unconfirmed, and run again elsewhere from their checkpoint without spending the
 * user's retries. When the agent comes back, the processes it still finds belong to attempts that
 * moved on: it stops them and confirms they are gone.
 */
describe('node loss', () => {
  let farm: Farm;
  let agent: DroverProcess | undefined;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: 1500 });
  }, 30_000);
  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  }, 60_000);

  it('retries the lost attempts elsewhere from their checkpoint, and the returning agent confirms the old processes stopped', async () => {
    const env = { DROVER_NATS_URL: farm.server.url, DROVER_DATA_DIR: farm.dataDir, DROVER_HEARTBEAT_MS: '250' };
    agent = spawnDrover(['agent', '--node', 'doomed', '--cpus', '8', '--mem', '2G'], env);
    for (let i = 0; i < 200 && !(await farm.events('node', 'doomed')).some((e) => e.type === 'node.ready'); i++) await sleep(100);
    // Ready and not lost before it beat once (the flaky run: lost in that gap, it took no work).
    expect((await farm.events('node', 'doomed')).map((e) => e.type)).toEqual(['node.registered', 'node.ready']);
    const script = 'if [ -n "$DROVER_CHECKPOINT" ]; then echo "{\\"result\\":\\"resumed from $DROVER_CHECKPOINT\\"}" >> "$DROVER_REPORT"; exit 0; fi; ' +
      'echo "{\\"progress\\":0.5,\\"checkpoint\\":\\"half\\"}" >> "$DROVER_REPORT"; sleep 30';
    const id = await farm.submit({ name: 'resumable', user: 'alice', command: ['sh', '-c', script], memMb: 16, retries: 0 });
    for (let i = 0; i < 200; i++) {
      const chunk = await farm.events('chunk', `${id}:0`);
      if (chunk.some((e) => e.type === 'chunk.progressed' && e.data.checkpoint === 'half')) break;
      await sleep(100);
    }
    const checkpointed = (await farm.events('chunk', `${id}:0`)).some((e) => e.type === 'chunk.progressed' && e.data.checkpoint === 'half');
    expect(checkpointed, 'attempt 1 recorded its checkpoint on doomed before the kill').toBe(true);
    await agent.kill9();
    await farm.startAgent('spare');
    const job = await farm.waitFor(id, undefined, 30_000);
    expect(stateName(job)).toBe('succeeded');
    const chunk = await farm.events('chunk', `${id}:0`);
    expect(chunk.find((e) => e.type === 'chunk.attempt_failed')?.data).toMatchObject({ attempt: 1, cause: 'NodeLost', confirmed: false });
    expect(chunk.find((e) => e.type === 'chunk.succeeded')?.data).toMatchObject({ attempt: 2, result: 'resumed from half' });
    expect((await farm.events('node', 'doomed')).some((e) => e.type === 'node.lost')).toBe(true);

    // The agent returns: the attempt-1 process still runs, but its chunk moved on.
    agent = spawnDrover(['agent', '--node', 'doomed', '--cpus', '8', '--mem', '2G'], env);
    for (let i = 0; i < 300; i++) {
      if ((await farm.events('chunk', `${id}:0`)).some((e) => e.type === 'chunk.process_stopped')) break;
      await sleep(100);
    }
    const after = await farm.events('chunk', `${id}:0`);
    expect(after.find((e) => e.type === 'chunk.process_stopped')?.data).toMatchObject({ attempt: 1 });
    const worker = await farm.events('worker', `${id}:0:1`);
    expect(worker.map((e) => e.type)).toEqual(expect.arrayContaining(['worker.lost', 'worker.readopted', 'worker.killed']));
  }, 90_000);
});
