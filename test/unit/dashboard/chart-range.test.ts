import { describe, expect, it } from 'vitest';
import { chartRange, MIN_CHART_MINUTES } from '../../../src/dashboard/index.js';

const MIN = 60_000;
const now = 1_000 * MIN + 30_000;

describe('chartRange (the overview charts span the data, not a fixed hour)', () => {
  it('a fresh farm: the last few minutes, ending at now', () => {
    expect(chartRange([], now)).toEqual({
      from: (1_001 - MIN_CHART_MINUTES) * MIN,
      to: 1_000 * MIN,
    });
  });

  it('older data: from its first minute to now', () => {
    const series = [
      { key: 'node-1', total: 3, buckets: [{ minute: 900 * MIN, count: 2 }] },
      { key: 'node-2', total: 1, buckets: [{ minute: 870 * MIN, count: 1 }] },
    ];
    expect(chartRange(series, now)).toEqual({ from: 870 * MIN, to: 1_000 * MIN });
  });
});
