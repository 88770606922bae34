import { describe, expect, it } from 'vitest';
import { LAUNCH_WINDOW_MS } from '../../../src/policy/index.js';
import { LaunchWindow } from '../../../src/scheduler/quota-gate.js';
import type { RecordedEvent } from '../../../src/events/index.js';

/** `chunk.assigned` of job `j<n>`'s chunk 0 (attempt 1) at `at`, as the tail brings it. */
const assigned = (n: number, at: number) =>
  ({
    type: 'chunk.assigned',
    at,
    data: { worker: `j${n}:0:1` },
    recorded: { subject: `drover.ev.chunk.j${n}:0`, seq: n },
  }) as unknown as RecordedEvent;

describe('LaunchWindow', () => {
  it('holds the last minute of launches when no quota ever asks for them (issue 23 point 7)', () => {
    const w = new LaunchWindow();
    const userOf = (jobId: string) => (Number(jobId.slice(1)) % 2 === 0 ? 'alice' : 'bob');
    // Two launches a second for an hour, as the soak does; no quota, so `recent` never runs.
    for (let i = 0; i < 7200; i++) w.note(assigned(i, i * 500), userOf);
    expect(w.size).toBeLessThanOrEqual((2 * LAUNCH_WINDOW_MS) / 1000 + 2);
    // And what is in the window still counts.
    const recent = w.recent(7199 * 500);
    expect(recent.get('alice')?.length).toBeGreaterThanOrEqual(59);
    expect(recent.get('bob')?.length).toBeGreaterThanOrEqual(59);
  });
});
