import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  nodeBehaviour,
  stateName,
  type NodeCommand,
} from '../../../src/actors/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const by = { kind: 'admin' as const, id: 'ops' };

/**
 * The operator's cordon and drain survive a kill -9 of the node's agent and its restart: the node
 * registers again and returns to cordoned (or draining, then drained), and gets no work.
 */
describe('operator hold across an agent restart', () => {
  let farm: Farm;
  let agent: DroverProcess | undefined;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: 60_000 });
  }, 30_000);
  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  }, 60_000);

  const readies = async () =>
    (await farm.events('node', 'held')).filter((e) => e.type === 'node.ready').length;
  const startAgent = async () => {
    const before = await readies();
    agent = spawnDrover(['agent', '--node', 'held', '--cpus', '4', '--mem', '1G'], {
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: farm.dataDir,
      DROVER_HEARTBEAT_MS: '250',
    });
    for (let i = 0; i < 300 && (await readies()) <= before; i++) await sleep(100);
    expect(await readies()).toBeGreaterThan(before);
  };
  const state = async () => {
    const runtime = createEntityRuntime({ eventLog: farm.log });
    return stateName((await runtime.load(nodeBehaviour, 'held')).state);
  };
  let n = 0;
  const command = async (c: Omit<NodeCommand, 'id' | 'at' | 'by'>) => {
    const runtime = createEntityRuntime({ eventLog: farm.log });
    const r = await runtime.execute(nodeBehaviour, 'held', {
      ...c,
      id: `op-${n++}`,
      at: Date.now(),
      by,
    } as NodeCommand);
    expect(r.ok).toBe(true);
  };
  const waitState = async (want: string) => {
    for (let i = 0; i < 300 && (await state()) !== want; i++) await sleep(100);
    expect(await state()).toBe(want);
  };

  it('stays cordoned, then drained, through kill -9 and restart, and runs nothing', async () => {
    await startAgent();
    await command({ type: 'Cordon', data: { reason: 'flaky disk' } } as never);
    await agent!.kill9();
    await startAgent();
    expect(await state()).toBe('cordoned');
    const job = await farm.submit({
      name: 'held-job',
      user: 'alice',
      command: ['true'],
      memMb: 16,
    });
    await sleep(2000);
    expect(stateName(await farm.job(job))).toBe('queued');

    await command({ type: 'RequestDrain', data: { reason: 'patch' } } as never);
    await waitState('drained');
    await agent!.kill9();
    await startAgent();
    await waitState('drained');
    await sleep(1000);
    expect(stateName(await farm.job(job))).toBe('queued');

    // The operator lifts it: the node takes the work.
    await command({ type: 'Undrain' });
    expect(stateName(await farm.waitFor(job, undefined, 60_000))).toBe('succeeded');
  }, 120_000);
});
