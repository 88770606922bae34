import { describe, expect, it } from 'vitest';
import { cancelStages, type StoredAt } from '../../../bench/cancel-timeline.js';

/** One job's cancel path, each event stored `gaps[i]` ms after the previous one (decided 1 ms before). */
function job(jobId: string, start: number, gaps: number[]): StoredAt[] {
  const types = [
    'job.cancel_requested',
    'chunk.cancel_requested',
    'worker.kill_requested',
    'worker.killed',
    'chunk.cancelled',
    'job.chunks_settled',
    'job.cancelled',
  ];
  let ms = start;
  return types.map((type, i) => {
    ms += i === 0 ? 0 : (gaps[i - 1] as number);
    return { type, jobId, at: ms - 1, ms };
  });
}

describe('the cancel timeline of bench:scheduler', () => {
  it('times each stage per job, from the server store times', () => {
    const events = [
      ...job('a', 1000, [10, 20, 300, 0, 40, 5]),
      ...job('b', 1002, [30, 20, 500, 2, 40, 5]),
    ];
    const t = cancelStages(events);
    expect(t.wall).toBe(1002 + 30 + 20 + 500 + 2 + 40 + 5 - 1000);
    expect(t.stages.cascade).toMatchObject({ mean: 20, max: 30, jobs: 2 });
    expect(t.stages.kill).toMatchObject({ mean: 400, p50: 500, max: 500, writeMean: 1 });
    expect(t.landed['job.cancelled']).toMatchObject({ n: 2, first: 375 });
  });

  it('times a stage whose start a job skipped from its latest earlier event', () => {
    const events = job('a', 0, [10, 20, 300, 0, 40, 5]).filter(
      (e) => e.type !== 'worker.kill_requested',
    );
    const t = cancelStages(events);
    expect(t.stages.ask).toMatchObject({ jobs: 0 });
    expect(t.stages.kill).toMatchObject({ mean: 320, jobs: 1 });
  });
});
