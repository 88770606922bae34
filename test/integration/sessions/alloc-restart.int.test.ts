import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient, type SessionRow } from '../../../src/api/index.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(100);
  }
}

/** Long enough for a CLI run, a kill -9 and an agent restart on a loaded machine. */
const ALLOC_S = 90;

/**
 * kill -9 of the agent of a node an allocation holds, then its restart: the hold's placeholder
 * process outlives the agent and is re-adopted, and the new agent takes up the hold from the log,
 * so `drover run --alloc` keeps working on that node and the hold still ends at its time (its
 * session exits, saying so) as before the restart.
 */
describe('an allocation across its agent being killed and restarted', () => {
  let farm: ApiFarm;
  let api: ApiClient;
  let agent: DroverProcess | undefined;
  const ann = { DROVER_USER: 'ann' };
  const session = async (id: string) =>
    (await api.call<{ session: SessionRow }>('session.get', { id })).session;
  const readyCount = async () =>
    (await farm.events('node', 'rnode')).filter((e) => e.type === 'node.ready').length;
  /** The agent as a process; resolves once its node is ready (after it took up its holds). */
  const startAgent = async () => {
    const before = await readyCount();
    agent = spawnDrover(['agent', '--node', 'rnode', '--cpus', '4', '--mem', '2G'], {
      DROVER_NATS_URL: farm.server.url,
      DROVER_DATA_DIR: farm.dataDir,
      DROVER_HEARTBEAT_MS: '250',
    });
    await until('node ready', async () => ((await readyCount()) > before ? true : undefined));
  };

  beforeAll(async () => {
    // The node is not declared lost while its agent restarts: the hold must survive it.
    farm = await startApiFarm({ agents: 0, nodeLostMs: 120_000 });
    api = createApiClient(farm.nc);
    await startAgent();
  }, 90_000);
  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  }, 60_000);

  it('runs inside the hold after the restart, and the hold still ends at its time', async () => {
    await api.call('session.alloc', { id: 'arst1', user: 'ann', cpus: 1, timeS: ALLOC_S });
    const row = await until('held', async () => {
      const s = await session('arst1');
      return s.nodes.length === 1 ? s : undefined;
    });
    const url = farm.server.url;
    const before = await drover(url, ['run', '--alloc', 'arst1', '--', 'echo', 'before'], ann);
    expect(before.stderr).toBe('');
    expect(before.stdout).toBe('before\n');

    await agent!.kill9();
    await startAgent();
    const worker = `${row.jobId}:0:1`;
    const types = (await farm.events('worker', worker)).map((e) => e.type);
    expect(types).toContain('worker.readopted'); // the same hold, not a new one

    const after = await drover(url, ['run', '--alloc', 'arst1', '--', 'echo', 'after'], ann);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('after\n');

    const ended = await until(
      'ended at its time',
      async () => {
        const s = await session('arst1');
        return s.state === 'exited' ? s : undefined;
      },
      (ALLOC_S + 60) * 1000,
    );
    expect(ended.exitCode).toBe(0);
    const exited = (await farm.log.read('session', 'arst1')).events.find(
      (e) => e.type === 'session.exited',
    );
    expect(exited?.data).toMatchObject({ message: `its time ran out (${ALLOC_S} s)` });
    expect(exited?.by).toEqual({ kind: 'agent', id: 'rnode' });
    await farm.waitFor(row.jobId!, ['succeeded'], 60_000);
  }, 300_000);
});
