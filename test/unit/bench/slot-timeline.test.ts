import { describe, expect, it } from 'vitest';
import { slotTurnarounds, turnovers, type AttemptTimes } from '../../../bench/slot-timeline.js';

/** A node of `slots` slots, each attempt: assigned, +1 launching, +2 started, +run exited, +3 ended. */
function timeline(slots: number, n: number, run: number, gap: number): AttemptTimes[] {
  const free = Array.from({ length: slots }, () => 0);
  const out: AttemptTimes[] = [];
  for (let i = 0; i < n; i++) {
    const s = free.indexOf(Math.min(...free));
    const assignedAt = free[s] === 0 ? 0 : (free[s] as number) + gap;
    const startedAt = assignedAt + 3;
    const exitedAt = startedAt + run;
    out.push({
      chunk: `c${i}`,
      node: 'n1',
      assignedAt,
      launchingAt: assignedAt + 1,
      startedAt,
      exitedAt,
      endedAt: exitedAt + 3,
    });
    free[s] = exitedAt + 3;
  }
  return out;
}

describe('the slot timeline of bench:throughput', () => {
  it('pairs each placement on a full node with the exit that freed its slot', () => {
    const t = turnovers(timeline(4, 40, 10, 5), 4);
    expect(t).toHaveLength(36);
    for (const x of t)
      expect(x).toEqual({ run: 10, report: 3, place: 5, deliver: 1, fork: 2, total: 11 });
  });

  it('leaves out attempts it did not see whole, and reports the stages', () => {
    const attempts = timeline(2, 10, 7, 4);
    delete attempts[9]!.startedAt;
    const r = slotTurnarounds(attempts, 2);
    expect(r.turnovers).toBe(7);
    expect(r.total).toEqual({ mean: 10, p50: 10, p99: 10 });
    expect(r.place).toEqual({ mean: 4, p50: 4, p99: 4 });
    expect(r.run).toEqual({ mean: 7, p50: 7, p99: 7 });
  });
});
