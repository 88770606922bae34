import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEntityRuntime,
  nodeBehaviour,
  nodeFold,
  stateName,
  type NodeSnapshot,
} from '../../../src/actors/index.js';
import { isCorrupt, parseEventSubject } from '../../../src/events/index.js';
import { startHollowNodes, type HollowFarm } from '../../../src/node-agent/bench/hollow-agent.service.js';
import { quietLogger, startFarm, type Farm } from '../../support/farm.js';

const NODES = 50;
const JOBS = 500;

describe('hollow nodes under a real scheduler', () => {
  let farm: Farm;
  let hollow: HollowFarm;
  beforeAll(async () => {
    farm = await startFarm({ agents: 0 });
    // Big nodes that never turn ready (registered, no heartbeat): the policy must pass them by.
    const runtime = createEntityRuntime({ eventLog: farm.log });
    for (let i = 1; i <= 3; i++) {
      const node = `idle-${i}`;
      const r = await runtime.execute(nodeBehaviour, node, {
        type: 'RegisterNode',
        id: `${node}>register`,
        at: Date.now(),
        by: { kind: 'agent', id: node },
        data: { cpus: 512, memMb: 1 << 20, gpus: 0, hostname: node, labels: {}, incarnation: 'x' },
      });
      expect(r.ok).toBe(true);
    }
    hollow = await startHollowNodes({
      nc: farm.nc,
      eventLog: farm.log,
      prefix: 'hollow',
      count: NODES,
      capacity: { cpus: 4, memMb: 4096, gpus: 0 },
      durationMs: 50,
      logger: quietLogger,
      heartbeatMs: 250,
    });
  }, 60_000);
  afterAll(async () => {
    await hollow?.stop();
    await farm?.stop();
  }, 60_000);

  it(`${JOBS} one-chunk jobs on ${NODES} hollow nodes all succeed, none placed on a node not ready`, async () => {
    const fromSeq = (await farm.log.lastSeq()) + 1;
    const ids = new Set<string>();
    for (let i = 0; i < JOBS; i++)
      ids.add(
        await farm.submit({
          name: `t${i}`,
          user: `u${i % 5}`,
          command: ['true'],
          cpus: 0.5,
          memMb: 64,
        }),
      );

    const ended = new Map<string, string>();
    const tail = farm.log.tail({ fromSeq, entity: 'job' });
    const deadline = setTimeout(() => void tail.stop(), 90_000);
    for await (const item of tail) {
      if (isCorrupt(item)) continue;
      const id = item.recorded.subject.slice(item.recorded.subject.lastIndexOf('.') + 1);
      if (['job.succeeded', 'job.failed', 'job.cancelled'].includes(item.type) && ids.has(id))
        ended.set(id, item.type);
      if (ended.size === JOBS) break;
    }
    clearTimeout(deadline);
    await tail.stop();
    expect(ended.size).toBe(JOBS);
    expect([...ended.values()].every((t) => t === 'job.succeeded')).toBe(true);
    expect(hollow.stats()).toMatchObject({ started: JOBS, exited: JOBS, killed: 0 });

    // Fold the nodes along the whole log: at every assignment its node must have been ready.
    const nodes = new Map<string, NodeSnapshot>();
    const assignedTo = new Map<string, number>();
    let assignments = 0;
    // How many chunks held a node at once, by the log: the spread rule (emptiest node first)
    // must have put that many on distinct nodes. Under CPU load fewer overlap, so fewer nodes.
    const holding = new Set<string>();
    let peak = 0;
    for await (const item of farm.log.replay()) {
      if (isCorrupt(item)) continue;
      const where = parseEventSubject(item.recorded.subject)!;
      if (where.entity === 'node')
        nodes.set(where.id, nodeFold.evolve(nodes.get(where.id) ?? nodeFold.initial(), item));
      if (item.type === 'chunk.assigned') {
        assignments++;
        const node = nodes.get(item.data.node);
        expect(node && stateName(node), `${where.id} on ${item.data.node}`).toBe('ready');
        assignedTo.set(item.data.node, (assignedTo.get(item.data.node) ?? 0) + 1);
        holding.add(where.id);
        peak = Math.max(peak, holding.size);
      }
      if (item.type === 'chunk.succeeded' || item.type === 'chunk.attempt_failed')
        holding.delete(where.id);
    }
    expect(assignments).toBe(JOBS);
    expect([...assignedTo.keys()].every((n) => n.startsWith('hollow-'))).toBe(true);
    expect(peak).toBeGreaterThan(1);
    expect(assignedTo.size).toBeGreaterThanOrEqual(Math.min(peak, NODES));
  }, 120_000);
});
