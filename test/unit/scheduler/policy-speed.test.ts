import { describe, expect, it } from 'vitest';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type ResourceVector,
} from '../../../src/policy/index.js';
import { syntheticFarm } from '../../support/policy-arbitraries.js';

/**
 * A guard against pathological slowness, not a benchmark: 100k waiting chunks of many jobs and
 * users on 1,000 nodes. The bound is generous (CI machines vary); the measured time is printed.
 */
describe('policy speed', () => {
  const { nodes, tasks } = syntheticFarm({ tasks: 100_000, nodes: 1_000, users: 200 });
  const capacity = nodes.reduce<ResourceVector>(
    (c, n) => ({
      cpus: c.cpus + n.capacity.cpus,
      memMb: c.memMb + n.capacity.memMb,
      gpus: c.gpus + n.capacity.gpus,
    }),
    { cpus: 0, memMb: 0, gpus: 0 },
  );
  const ctx = {
    capacity,
    history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
    config: defaultFairShareConfig,
  };

  it.each([false, true])('orders and places 100k tasks on 1,000 nodes (reasons: %s)', (reasons) => {
    placeRound(queueOrder(tasks.slice(0, 5000), ctx), nodes.slice(0, 50), 0, { reasons }); // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const ranked = queueOrder(tasks, ctx);
    const t1 = performance.now();
    const round = placeRound(ranked, nodes, 0, { reasons });
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `policy speed (reasons: ${reasons}): queueOrder ${(t1 - t0).toFixed(0)} ms, ` +
        `placeRound ${(t2 - t1).toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms cpu; ` +
        `${round.placements.length} placements, ${round.waiting.size} waiting`,
    );
    expect(round.placements.length + round.waiting.size).toBe(tasks.length);
    expect(round.placements.length).toBeGreaterThan(10_000);
    // CPU time, not wall time: the machine is shared, and a busy neighbour is not slowness.
    expect(cpuMs).toBeLessThan(3_000);
  });
});
