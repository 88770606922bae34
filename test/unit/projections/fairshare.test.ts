import { describe, expect, it } from 'vitest';
import { fairshare, fairshareProjection } from '../../../src/projections/index.js';
import { handLog, spec } from '../../support/projection-log.js';

const T = 1_700_000_000_000;
const DAY = 86_400_000;
const req = { cpus: 2, memMb: 512, gpus: 0 };

describe('fairshare projection', () => {
  it('decays history, counts running/pending, ranks a fresh user ahead and says why (history)', () => {
    const log = handLog();
    log.add('node', 'n1', T, 'node.registered', {
      cpus: 8,
      memMb: 8192,
      gpus: 0,
      hostname: 'n1',
      labels: {},
      incarnation: 'a',
    });
    log.add('job', 'A', T, 'job.submitted', spec({ user: 'ann', cpus: 2, chunks: 2 }));
    log.add('chunk', 'A:0', T, 'chunk.created', { jobId: 'A', index: 0, total: 2 });
    log.add('chunk', 'A:1', T, 'chunk.created', { jobId: 'A', index: 1, total: 2 });
    log.add('chunk', 'A:0', T + 1, 'chunk.assigned', {
      attempt: 1,
      node: 'n1',
      worker: 'A:0:1',
      request: req,
    });
    const end = log.add('worker', 'A:0:1', T + 3_600_000, 'worker.exited', {
      peakRssMb: 1,
      cpuSeconds: 1,
      wallSeconds: 3600,
      exitCode: 0,
      signal: null,
      cause: 'Succeeded',
    });
    log.add('chunk', 'A:0', T + 3_600_001, 'chunk.succeeded', { attempt: 1 });
    log.add('job', 'B', T + DAY, 'job.submitted', spec({ user: bob(), cpus: 2 }));
    log.add('chunk', 'B:0', T + DAY, 'chunk.created', { jobId: 'B', index: 0, total: 1 });
    const s = log.fold(fairshareProjection);
    const rows = fairshare(s, { now: T + 3_600_000 + DAY });
    const ann = rows.find((r) => r.user === 'ann')!;
    const bobRow = rows.find((r) => r.user === 'bob')!;
    expect(ann.history.cpus).toBeCloseTo(2 * 3600 * 0.5, 6); // one half-life later
    expect(ann.history.memMb).toBeCloseTo(512 * 3600 * 0.5, 6);
    expect([ann.running, ann.pending, bobRow.running, bobRow.pending]).toEqual([0, 1, 0, 1]);
    expect(bobRow.rank).toBe(1);
    expect(ann.rank).toBe(2);
    // What ranks is the next waiting task's dru: bob's 2 of 8 cpus, ann's the same plus history.
    expect(bobRow.nextDru).toBe(0.25);
    expect(ann.nextDru).toBeGreaterThan(0.25);
    expect(ann.ahead).toEqual([{ user: 'bob', dru: 0.25, term: 'history', resource: 'cpus' }]);
    expect(ann.facts).toEqual([
      {
        worker: 'A:0:1',
        seq: end,
        at: T + 3_600_000,
        resourceSeconds: { cpus: 7200, memMb: 512 * 3600, gpus: 0 },
      },
    ]);
    expect(ann.weight).toBe(1);
    expect(ann.dru).toBeGreaterThan(0);
  });
});

function bob(): string {
  return 'bob';
}
