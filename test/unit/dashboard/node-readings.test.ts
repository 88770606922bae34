import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { noteReading, READINGS_KEPT } from '../../../src/dashboard/index.js';
import type { NodeReading } from '../../../src/events/index.js';

const reading = (at: number, swapIn = 0): NodeReading => ({
  at,
  swapInPerSecond: swapIn,
  swapOutPerSecond: 0,
  memTotalBytes: 1024,
  memAvailableBytes: 512,
});

describe('noteReading (the Memory page’s recent window)', () => {
  it('keeps a reading once though every heartbeat repeats it until the next sample', () => {
    const h = new Map<string, NodeReading[]>();
    for (const at of [1, 1, 1, 2, 2, 3]) noteReading(h, 'n1', reading(at));
    noteReading(h, 'n2', reading(1));
    expect(h.get('n1')?.map((r) => r.at)).toEqual([1, 2, 3]);
    expect(h.get('n2')).toHaveLength(1);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 1_000 })])(
    'the window is in time order, bounded, and ends with the newest reading',
    (ats) => {
      const h = new Map<string, NodeReading[]>();
      for (const at of ats) noteReading(h, 'n', reading(at));
      const kept = (h.get('n') ?? []).map((r) => r.at);
      expect(kept.length).toBeLessThanOrEqual(READINGS_KEPT);
      for (let i = 1; i < kept.length; i++) expect(kept[i]).toBeGreaterThan(kept[i - 1]!);
      if (ats.length) expect(kept[kept.length - 1]).toBe(Math.max(...ats));
    },
  );
});
