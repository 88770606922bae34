import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import type { RecordedEvent } from '../../../src/events/index.js';
import { spawnDrover, type DroverProcess } from '../../support/drover-process.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * kill -9 of a node agent while its chunks run, then a restart: every worker of its previous life
 * is accounted for, re-adopted when its process still runs, closed with its real exit status when
 * it ended meanwhile, or lost (and its chunk retried) when nothing is left of it.
 */
describe('agent crash and reconciliation', () => {
  let farm: Farm;
  let agent: DroverProcess | undefined;
  const env = () => ({
    DROVER_NATS_URL: farm.server.url,
    DROVER_DATA_DIR: farm.dataDir,
    DROVER_HEARTBEAT_MS: '250',
  });
  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: 60_000 });
  }, 30_000);
  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  }, 60_000);

  const startAgent = async () => {
    const before = (await farm.events('node', 'crashy')).filter((e) => e.type === 'node.ready').length;
    agent = spawnDrover(['agent', '--node', 'crashy', '--cpus', '8', '--mem', '2G'], env());
    await until('node ready', async () => {
      const ready = (await farm.events('node', 'crashy')).filter((e) => e.type === 'node.ready').length;
      return ready > before ? true : undefined;
    });
  };
  const started = (id: string) =>
    until(`${id} started`, async () => {
      const ev = (await farm.events('worker', id)).find((e) => e.type === 'worker.started');
      return ev?.type === 'worker.started' ? ev.data : undefined;
    });
  const types = (events: RecordedEvent[]) => events.map((e) => e.type);

  it('re-adopts live processes, settles the ones that ended, reports the vanished lost and retries them', async () => {
    await startAgent();
    // `long` runs until the test lets it go, after its re-adoption: a fixed sleep raced the
    // agent's restart on a loaded machine (it ended unwatched and was settled, not re-adopted).
    const release = join(farm.dataDir, 'release-long');
    const long = await farm.submit({ name: 'long', user: 'alice', command: ['sh', '-c', `while [ ! -e ${release} ]; do sleep 0.05; done`], memMb: 16 });
    const quick = await farm.submit({ name: 'quick', user: 'alice', command: ['sh', '-c', 'sleep 0.5; echo \'{"result":42}\' >> "$DROVER_REPORT"'], memMb: 16 });
    const victim = await farm.submit({ name: 'victim', user: 'alice', command: ['sh', '-c', 'if [ "$DROVER_ATTEMPT" = 1 ]; then sleep 30; fi'], memMb: 16 });
    await started(`${long}:0:1`);
    await started(`${quick}:0:1`);
    const { pgid } = await started(`${victim}:0:1`);

    await agent!.kill9();
    process.kill(-pgid, 'SIGKILL'); // the whole group, wrapper included: nothing records its end
    await sleep(1000); // `quick` ends while no agent watches it
    await startAgent();
    await until('long re-adopted', async () =>
      types(await farm.events('worker', `${long}:0:1`)).includes('worker.readopted') ? true : undefined,
    );
    await writeFile(release, '');

    for (const id of [long, quick, victim]) expect(stateName(await farm.waitFor(id, undefined, 60_000))).toBe('succeeded');
    expect(types(await farm.events('worker', `${long}:0:1`))).not.toContain('worker.lost');
    const quickWorker = await farm.events('worker', `${quick}:0:1`);
    expect(quickWorker.find((e) => e.type === 'worker.exited')?.data).toMatchObject({ exitCode: 0, cause: 'Succeeded' });
    // It ended while no agent ran: settled from its status file, never re-adopted.
    expect(types(quickWorker)).not.toContain('worker.readopted');
    const quickChunk = await farm.events('chunk', `${quick}:0`);
    expect(quickChunk.find((e) => e.type === 'chunk.succeeded')?.data).toMatchObject({ attempt: 1, result: 42 });
    const victimWorker = await farm.events('worker', `${victim}:0:1`);
    expect(victimWorker.find((e) => e.type === 'worker.lost')?.data).toMatchObject({ cause: 'AgentRestarted' });
    const victimChunk = await farm.events('chunk', `${victim}:0`);
    expect(victimChunk.find((e) => e.type === 'chunk.attempt_failed')?.data).toMatchObject({ attempt: 1, cause: 'AgentRestarted', confirmed: true });
    expect(victimChunk.find((e) => e.type === 'chunk.succeeded')?.data).toMatchObject({ attempt: 2 });
    // Nothing is left unaccounted for: every worker the node ever had has ended.
    for (const w of [`${long}:0:1`, `${quick}:0:1`, `${victim}:0:1`, `${victim}:0:2`]) {
      const last = (await farm.events('worker', w)).at(-1)?.type;
      expect(['worker.exited', 'worker.killed']).toContain(last);
    }
  }, 120_000);
});
