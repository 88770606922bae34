import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlerting, type Alerting } from '../../../src/alerts/index.js';
import { startAgent, type Agent } from '../../../src/node-agent/index.js';
import { parseAlertRules } from '../../../src/policy/alerts/index.js';
import { drover, startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { quietLogger } from '../../support/farm.js';
import { swapStorm, type VmstatReplay } from '../../support/vmstat-replay.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AlertJson {
  id: string;
  rule: string;
  state: string;
  summary: string;
  details: { share: number; nodes: { node: string; pagesPerSecond: number }[] };
}

/**
 * Swap is real: the agent samples pswpin/pswpout (here a recorded sequence of a node in a swap
 * storm: this machine may have no swap), reports the rates on its heartbeat, and with one node
 * of two swapping (50% > 20%) the swapping alert fires; when the node calms down it resolves by
 * itself.
 */
describe('swap alert from a recorded /proc/vmstat sequence', () => {
  let farm: ApiFarm;
  let alerting: Alerting;
  const agents: Agent[] = [];
  let storm: VmstatReplay;

  beforeAll(async () => {
    const played = await swapStorm();
    storm = played.storm;
    const quiet = played.quiet;
    farm = await startApiFarm({ agents: 0 });
    for (const [node, sources] of [
      ['swapper', storm.sources],
      ['steady', quiet.sources],
    ] as const) {
      agents.push(
        await startAgent({
          nc: farm.nc,
          eventLog: farm.log,
          node,
          capacity: { cpus: 1, memMb: 512, gpus: 0, hostname: node },
          stateDir: join(farm.dataDir, 'agents', node),
          logger: quietLogger,
          heartbeatMs: 200,
          nodeSources: sources,
          nodeSampleMs: 250,
        }),
      );
    }
    const parsed = parseAlertRules({
      rules: {
        swapping: { share: 0.2, pagesPerSecond: 100, for: '1s', clearFor: '1s' },
        'queue-wait': { enabled: false },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    alerting = startAlerting({
      nc: farm.nc,
      eventLog: farm.log,
      live: farm.api.live,
      loaded: { ...parsed, source: 'test' },
      logger: quietLogger,
      intervalMs: 200,
    });
  }, 60_000);
  afterAll(async () => {
    await alerting?.stop();
    await Promise.all(agents.map((a) => a.stop('terminate').catch(() => undefined)));
    await farm?.stop();
  }, 60_000);

  const waitAlert = async (pick: (a: AlertJson) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await drover(farm.server.url, ['alerts', '--all', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const found = (JSON.parse(r.stdout) as AlertJson[]).find(pick);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('alert not seen in time');
      await sleep(200);
    }
  };

  it('fires while one node of two swaps, and resolves by itself when it stops', async () => {
    const firing = await waitAlert((a) => a.rule === 'swapping' && a.state === 'firing');
    expect(firing.id).toBe('swapping-farm-1');
    expect(firing.summary).toBe('1 of 2 nodes swapping (50%; fires above 20%)');
    expect(firing.details.share).toBe(0.5);
    expect(firing.details.nodes.map((n) => n.node)).toEqual(['swapper']);
    // The recording moves thousands of pages a second; far above the 100 pages/s threshold.
    expect(firing.details.nodes[0]!.pagesPerSecond).toBeGreaterThan(1000);
    // The reading also reaches the read model through the heartbeat.
    const reading = farm.api.live.model.heartbeats.get('swapper')?.reading;
    expect(reading).toMatchObject({
      memTotalBytes: 16_384_000 * 1024,
      swapUsedBytes: (8_388_604 - 2_101_880) * 1024,
    });
    expect(storm.reads()).toBeGreaterThan(1);

    storm.calm();
    const resolved = await waitAlert((a) => a.id === 'swapping-farm-1' && a.state === 'resolved');
    expect(resolved.summary).toBe('0 of 2 nodes swapping (0%; fires above 20%)');
    const types = (await farm.log.read('alert', 'swapping-farm-1')).events.map((e) => e.type);
    expect(types).toEqual(['alert.opened', 'alert.fired', 'alert.resolved']);
  }, 120_000);
});
