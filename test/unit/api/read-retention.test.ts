import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  createApiMetrics,
  emptyReadModel,
  jobView,
  publicState,
} from '../../../src/api/index.js';
import { ReadRetention, ofRetiredJob, type RetiredJob } from '../../../src/api/read-retention.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** A farm's history folded with a retention noting every job event, as the live model does. */
function fold(retainMs: number, now: number, onRetire?: (gone: RetiredJob) => void) {
  const model = emptyReadModel();
  const retention = new ReadRetention(retainMs, onRetire);
  for (const e of recordAll(farmHistory(3, { jobs: 60, users: 3 }))) {
    if (ofRetiredJob(model, e)) continue;
    applyEvent(model, e);
    const id = e.recorded.subject.split('.').slice(3).join('.');
    if (e.type.startsWith('job.')) retention.note(model, id, e.at);
    retention.sweep(model, now);
  }
  return { model, retention };
}

describe('ReadRetention (pure)', () => {
  it('lets go of finished jobs past the retention, with their chunks and workers; keeps open work and trees', () => {
    const all = fold(Infinity, Number.MAX_SAFE_INTEGER).model;
    const { model, retention } = fold(0, Number.MAX_SAFE_INTEGER);
    expect(model.skipped).toBe(all.skipped);
    expect(retention.retired).toBeGreaterThan(10);
    expect(model.jobs.size).toBe(all.jobs.size - retention.retired);
    for (const [id, job] of all.jobs) {
      const gone = !model.jobs.has(id);
      const tree =
        job.context.spec?.parent !== undefined || Object.keys(job.context.children).length > 0;
      if (!TERMINAL.includes(publicState(job) ?? '') || tree) expect(gone).toBe(false);
      if (gone) {
        for (const c of jobView(all, id)?.chunks ?? []) {
          expect(model.chunks.has(`${id}:${c.index}`)).toBe(false);
          for (const a of c.attempts) expect(model.workers.has(a.worker)).toBe(false);
        }
      } else expect(jobView(model, id)).toEqual(jobView(all, id));
    }
  });

  it('holds a finished job until its retention is over', () => {
    const { model, retention } = fold(60_000, 0);
    expect(retention.retired).toBe(0);
    expect(retention.waiting).toBeGreaterThan(10);
    retention.sweep(model, Number.MAX_SAFE_INTEGER);
    expect(retention.retired).toBeGreaterThan(10);
  });

  it('tells a holder of other indexes each job let go of, with exactly the chunks and workers that left', () => {
    const all = fold(Infinity, Number.MAX_SAFE_INTEGER).model;
    const told: RetiredJob[] = [];
    const { model } = fold(0, Number.MAX_SAFE_INTEGER, (gone) => told.push(gone));
    expect(told.length).toBeGreaterThan(10);
    for (const gone of told) {
      expect(model.jobs.has(gone.job)).toBe(false);
      const chunks = [...all.chunks.keys()].filter((c) => c.startsWith(`${gone.job}:`));
      expect([...gone.chunks].sort()).toEqual(chunks.sort());
      const workers = [...all.workers.keys()].filter((w) => w.startsWith(`${gone.job}:`));
      expect([...gone.workers].sort()).toEqual(workers.sort());
    }
  });

  it('the API metrics report the jobs of the model and what the retention let go of', async () => {
    const live = fold(0, Number.MAX_SAFE_INTEGER);
    const registry = new Registry();
    createApiMetrics(registry).watch?.(live);
    const text = await registry.metrics();
    expect(text).toContain(`drover_api_read_model_jobs{kind="held"} ${live.model.jobs.size}`);
    expect(text).toContain(`drover_api_read_model_retired_jobs ${live.retention.retired}`);
  });
});
