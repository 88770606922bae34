import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  nodeBehaviour,
  type EntityRuntime,
} from '../../../src/actors/index.js';
import { heartbeatSubject, type Actor } from '../../../src/events/index.js';
import { startFarm, type Farm } from '../../support/farm.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOST_MS = 3000;

/**
 * An agent registers, reconciles and turns ready before its first heartbeat; on a loaded machine
 * that gap is long. The node watch counted a node never heard from since the scheduler started
 * (or, for a restarted agent, since its previous incarnation's last beat), so a tick in the gap
 * marked the fresh node lost: it took no work, and node-lost.int.test.ts's job then ran late
 * without its checkpoint (issue 21, the flaky run). A new incarnation counts from when the
 * scheduler first sees it. This agent is played by hand to hold the gap open: heartbeats start
 * a second after registration, well inside the 3 s of silence a node is allowed.
 */
describe('a node is never lost for the gap between its registration and first heartbeat', () => {
  let farm: Farm;
  let runtime: EntityRuntime;
  const by: Actor = { kind: 'agent', id: 'late' };
  let n = 0;
  const command = <T extends object>(c: T) => ({ ...c, id: `late>${++n}`, at: Date.now(), by });
  let beating: ReturnType<typeof setInterval> | undefined;
  const beatAs = (incarnation: string) => {
    clearInterval(beating);
    const beat = () =>
      farm.nc.publish(
        heartbeatSubject('late'),
        JSON.stringify({ node: 'late', incarnation, at: Date.now(), workers: [], draining: false }),
      );
    beat();
    beating = setInterval(beat, 200);
  };
  const register = async (incarnation: string) => {
    const data = { cpus: 2, memMb: 1024, gpus: 0, hostname: 'late', labels: {}, incarnation };
    const r = await runtime.execute(nodeBehaviour, 'late', command({ type: 'RegisterNode', data }));
    expect(r.ok).toBe(true);
    expect((await runtime.execute(nodeBehaviour, 'late', command({ type: 'MarkReady' }))).ok).toBe(
      true,
    );
  };
  const types = async () => (await farm.events('node', 'late')).map((e) => e.type);

  beforeAll(async () => {
    farm = await startFarm({ agents: 0, nodeLostMs: LOST_MS });
    runtime = createEntityRuntime({ eventLog: farm.log });
  }, 30_000);
  afterAll(async () => {
    clearInterval(beating);
    await farm?.stop();
  }, 30_000);

  it('a first registration long after the scheduler started, and an agent restarted after a kill', async () => {
    // The scheduler has run for longer than a node may be silent.
    await sleep(LOST_MS + 500);
    await register('first');
    await sleep(1000);
    beatAs('first');
    await sleep(LOST_MS);
    expect(await types()).toEqual(['node.registered', 'node.ready']);

    // The agent dies (no beats for 2 s, less than the allowed silence), comes back as a new
    // incarnation and, again, beats only a second after registering.
    clearInterval(beating);
    await sleep(2000);
    await register('second');
    await sleep(1000);
    beatAs('second');
    await sleep(LOST_MS);
    expect(await types()).toEqual([
      'node.registered',
      'node.ready',
      'node.registered',
      'node.ready',
    ]);

    // Silence is still noticed: a node that stops beating is lost.
    clearInterval(beating);
    for (let i = 0; i < 100 && !(await types()).includes('node.lost'); i++) await sleep(100);
    expect(await types()).toContain('node.lost');
  }, 60_000);
});
