import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  parseMeminfo,
  parseVmstat,
  startNodeSampler,
  swapRates,
  vmstatSwap,
  type NodeStats,
} from '../../../src/node-agent/index.js';

const vmstat = (pswpin: number, pswpout: number) =>
  `nr_free_pages 12345\npgpgin 1350001\npswpin ${pswpin}\npswpout ${pswpout}\nbogus line\n`;

describe('node stats from /proc text', () => {
  it('reads vmstat counters, skipping lines that are not `name value`', () => {
    const v = parseVmstat(vmstat(7, 9));
    expect(v.get('pswpin')).toBe(7);
    expect(v.get('nr_free_pages')).toBe(12345);
    expect(v.has('bogus')).toBe(false);
    expect(vmstatSwap(vmstat(7, 9))).toEqual({ pswpin: 7, pswpout: 9 });
    expect(vmstatSwap('nr_free_pages 1\n')).toBeUndefined();
  });

  it('reads meminfo in bytes', () => {
    const text =
      'MemTotal:       24683748 kB\nMemFree: 1 kB\nMemAvailable:   22578984 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\nHugePages_Total:       0\n';
    expect(parseMeminfo(text)).toEqual({
      totalBytes: 24683748 * 1024,
      availableBytes: 22578984 * 1024,
      swapTotalBytes: 2048 * 1024,
      swapFreeBytes: 1024 * 1024,
    });
    expect(parseMeminfo('')).toBeUndefined();
  });

  it('gives rates between two readings, and 0 across a counter reset or no elapsed time', () => {
    const a = { pswpin: 100, pswpout: 1000 };
    expect(swapRates(a, { pswpin: 600, pswpout: 1000 }, 5)).toEqual({
      swapInPerSecond: 100,
      swapOutPerSecond: 0,
    });
    expect(swapRates(a, { pswpin: 0, pswpout: 0 }, 5)).toEqual({
      swapInPerSecond: 0,
      swapOutPerSecond: 0,
    });
    expect(swapRates(a, a, 0).swapInPerSecond).toBe(0);
  });

  it('the sampler turns a recorded vmstat sequence into swap rates over its clock', async () => {
    const readings = [vmstat(0, 0), vmstat(0, 0), vmstat(2000, 4000), vmstat(2000, 4000)];
    let now = 0;
    const seen: NodeStats[] = [];
    const sampler = startNodeSampler({
      logger: pino({ level: 'silent' }),
      intervalMs: 60_000,
      clock: () => now,
      onSample: (s) => seen.push(s),
      sources: {
        vmstat: async () => readings.shift() ?? '',
        meminfo: async () => 'MemTotal: 1024 kB\nMemAvailable: 512 kB\n',
        load: () => [1, 0.5, 0.25],
      },
    });
    try {
      now = 5000;
      await sampler.sample(); // beside the first reading taken at start (time 0)
      now = 10_000;
      const swapping = await sampler.sample();
      now = 15_000;
      const calm = await sampler.sample();
      expect(swapping).toMatchObject({ swapInPerSecond: 400, swapOutPerSecond: 800 });
      expect(calm).toMatchObject({ swapInPerSecond: 0, swapOutPerSecond: 0, load: [1, 0.5, 0.25] });
      expect(calm.memory).toMatchObject({ totalBytes: 1024 * 1024, availableBytes: 512 * 1024 });
    } finally {
      sampler.stop();
    }
  });
});
