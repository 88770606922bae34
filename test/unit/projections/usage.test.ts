import { describe, expect, it } from 'vitest';
import {
  percentile,
  recommendMemMb,
  usage,
  usageProjection,
} from '../../../src/projections/index.js';
import { handLog, spec } from '../../support/projection-log.js';

const T = 1_700_000_000_000;

function oneWorker(kill: boolean) {
  const log = handLog();
  log.add('job', 'J', T, 'job.submitted', spec({ name: 'sim', user: 'bob', pool: 'gpu' }));
  log.add('worker', 'J:0:1', T + 1, 'worker.launching', {
    jobId: 'J',
    chunk: 0,
    attempt: 1,
    node: 'n1',
    memLimitMb: 512,
  });
  log.add('worker', 'J:0:1', T + 10_000, 'worker.sampled', {
    rssMb: 100,
    peakRssMb: 100,
    cpuSeconds: 5,
  });
  log.add('worker', 'J:0:1', T + 20_000, 'worker.sampled', {
    rssMb: 300,
    peakRssMb: 900,
    cpuSeconds: 9,
  });
  if (kill) {
    // The kill reports a lower peak than a sample saw: the true peak is the max of all.
    log.add('worker', 'J:0:1', T + 30_000, 'worker.killed', {
      peakRssMb: 600,
      cpuSeconds: 12,
      wallSeconds: 30,
      signal: 'SIGKILL',
      cause: 'OutOfMemory',
    });
  } else {
    log.add('worker', 'J:0:1', T + 30_000, 'worker.exited', {
      peakRssMb: 300,
      cpuSeconds: 12,
      wallSeconds: 30,
      exitCode: 0,
      signal: null,
      cause: 'Succeeded',
    });
  }
  return log;
}

describe('usage projection', () => {
  it('a worker killed for memory counts with its true (sampled) peak and its cause', () => {
    const s = oneWorker(true).fold(usageProjection);
    const [row] = usage(s, { by: 'name' });
    expect(row).toMatchObject({
      key: 'sim',
      runs: 1,
      memPeakMb: 900,
      cpuSeconds: 12,
      wallSeconds: 30,
      outcomes: { OutOfMemory: 1 },
    });
  });

  it('integrates RSS over time: trapezoids between samples, the last sample held until the end', () => {
    const s = oneWorker(false).fold(usageProjection);
    // (100 + 300) / 2 × 10 s + 300 × 10 s
    expect(usage(s, { by: 'user' })[0]).toMatchObject({ key: 'bob', memMbSeconds: 2000 + 3000 });
    expect(usage(s, { by: 'pool' })[0]?.key).toBe('gpu');
    expect(usage(s, { by: 'pool' })[0]?.recommendedMemMb).toBeNull();
  });

  it('since counts only runs that ended in its hour or later', () => {
    const s = oneWorker(false).fold(usageProjection);
    expect(usage(s, { by: 'name', since: T + 3_600_000 * 2 })).toEqual([]);
    expect(usage(s, { by: 'name', since: T })).toHaveLength(1);
  });

  it('recommends p95 of peaks × 1.2 rounded up to 64 MB, with the runs it rests on', () => {
    const peaks = Array.from({ length: 100 }, (_, i) => i + 1); // p95 = 95
    expect(percentile(peaks, 0.95)).toBe(95);
    expect(recommendMemMb(peaks)).toBe(128); // 114 → 128
    expect(recommendMemMb([1000, 100, 200])).toBe(1216);
    expect(recommendMemMb([])).toBeNull();
    const s = oneWorker(true).fold(usageProjection);
    expect(usage(s, { by: 'name' })[0]).toMatchObject({
      recommendedMemMb: 1088,
      recommendationRuns: 1,
    });
  });

  it('counts an attempt that failed without any worker once, and not again after a worker ended', () => {
    const log = oneWorker(true);
    log.add('chunk', 'J:0', T + 30_001, 'chunk.attempt_failed', {
      attempt: 1,
      cause: 'OutOfMemory',
      confirmed: true,
    });
    log.add('chunk', 'J:0', T + 40_000, 'chunk.attempt_failed', {
      attempt: 2,
      cause: 'NodeLost',
      confirmed: false,
    });
    const [row] = usage(log.fold(usageProjection), { by: 'name' });
    expect(row?.outcomes).toEqual({ OutOfMemory: 1, NodeLost: 1 });
    expect(row?.runs).toBe(1);
  });
});
