import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { stateName } from '../../../src/actors/index.js';
import { runAgent, type Agent } from '../../../src/node-agent/index.js';
import { quietLogger, startFarm, type Farm } from '../../support/farm.js';
import { connectTo } from '../../support/nats-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An agent that stops with a drain (the first Ctrl-C of `drover up`) says `draining` in its
 * heartbeats and takes nothing more from its work queue. The scheduler drains its node in the
 * log, with why, so placement passes it over: new work waits for another node instead of being
 * launched on an agent that is leaving (its launch would never be taken).
 */
describe("an agent's draining heartbeat", () => {
  let farm: Farm;
  let nc: NatsConnection;
  let agent: Agent;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0 });
    // The leaving agent has its own connection, as an agent on its own machine does.
    nc = await connectTo(farm.server);
    agent = await runAgent({
      nc,
      logger: quietLogger,
      node: 'node-1',
      dataDir: farm.dataDir,
      capacity: { cpus: 4, memMb: 4096, gpus: 0 },
      labels: {},
      heartbeatMs: 250,
      sampleMs: 200,
    });
  }, 30_000);
  afterAll(async () => {
    await agent?.stop('terminate').catch(() => undefined);
    await nc?.close();
    await farm?.stop();
  }, 60_000);

  it('drains its node: nothing new is placed there, what ran finishes', async () => {
    const running = await farm.submit({
      name: 'long',
      user: 'ada',
      command: ['sleep', '4'],
      memMb: 32,
    });
    // The agent runs it (a job reads running from its first placement, before the launch).
    for (let i = 0; i < 300 && agent.running().length === 0; i++) await sleep(100);
    expect(agent.running()).toEqual([`${running}:0:1`]);
    const stopping = agent.stop('drain');
    let drain;
    for (let i = 0; i < 150 && !drain; i++) {
      drain = (await farm.events('node', 'node-1')).find((e) => e.type === 'node.drain_requested');
      if (!drain) await sleep(100);
    }
    expect(drain?.by.kind).toBe('scheduler');
    expect(drain?.type === 'node.drain_requested' && drain.data.reason).toContain('agent');

    // node-1 has 3 free cpus, but its agent leaves: the job waits for node-2.
    const next = await farm.submit({ name: 'next', user: 'ada', command: ['true'], memMb: 32 });
    await sleep(1500);
    expect((await farm.events('chunk', `${next}:0`)).map((e) => e.type)).not.toContain(
      'chunk.assigned',
    );
    await farm.startAgent('node-2');
    expect(stateName(await farm.waitFor(next))).toBe('succeeded');
    const assigned = (await farm.events('chunk', `${next}:0`)).find(
      (e) => e.type === 'chunk.assigned',
    );
    expect(assigned?.type === 'chunk.assigned' && assigned.data.node).toBe('node-2');

    await stopping;
    expect(stateName(await farm.waitFor(running))).toBe('succeeded');
    const types = (await farm.events('node', 'node-1')).map((e) => e.type);
    expect(types.at(-1)).toBe('node.offline');
  }, 60_000);
});
