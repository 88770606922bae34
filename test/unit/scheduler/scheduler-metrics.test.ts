import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { JobSnapshot } from '../../../src/actors/index.js';
import type { PendingReason, RecordedEvent } from '../../../src/events/index.js';
import { createSchedulerMetrics, queueDepth } from '../../../src/scheduler/main.js';
import { valueOf } from '../../support/prometheus.js';

const reason = (code: string) => ({ code, message: '', unblock: '' }) as unknown as PendingReason;
const jobOf = (id: string) =>
  ({ context: { spec: { user: id.startsWith('a') ? 'alice' : 'bob' } } }) as JobSnapshot;
const event = (type: string, job: string, at: number, seq: number) =>
  ({ type, at, recorded: { subject: `drover.ev.job.${job}`, seq } }) as unknown as RecordedEvent;

describe('scheduler metrics', () => {
  it('counts a waiting job once, under its first reason', () => {
    const pending = new Map([
      ['a1', { reasons: [reason('Resources'), reason('Constraint')] }],
      ['a2', { reasons: [reason('Resources')] }],
      ['b1', { reasons: [reason('Dependency')] }],
    ]);
    expect([...queueDepth(pending, jobOf).values()]).toEqual([
      { user: 'alice', reason: 'Resources', jobs: 2 },
      { user: 'bob', reason: 'Dependency', jobs: 1 },
    ]);
  });

  it('observes submit→running only for starts folded live (a replay does not count old waits)', async () => {
    const registry = new Registry();
    const m = createSchedulerMetrics(registry);
    // The submission time is the folded job's (the tail folds an event before it is applied).
    const submitted = new Map([
      ['old', 0],
      ['new', 10_000],
    ]);
    m.watchJobs((id) => ({ context: { createdAt: submitted.get(id) } }) as JobSnapshot);
    m.applied(1, event('job.submitted', 'old', 0, 1), false);
    m.applied(2, event('job.started', 'old', 9_000, 2), false);
    m.applied(3, event('job.submitted', 'new', 10_000, 3), false);
    m.applied(4, event('job.started', 'new', 12_500, 4), true);
    m.watchHead(async () => 10);
    const text = await registry.metrics();
    expect(valueOf(text, 'drover_scheduler_submit_to_running_seconds_count')).toBe(1);
    expect(valueOf(text, 'drover_scheduler_submit_to_running_seconds_sum')).toBe(2.5);
    expect(valueOf(text, 'drover_scheduler_tail_lag_events')).toBe(6);
  });

  it('reports the notes offered and not yet written, read at scrape time', async () => {
    const registry = new Registry();
    const m = createSchedulerMetrics(registry);
    expect(valueOf(await registry.metrics(), 'drover_scheduler_pending_notes_backlog')).toBe(0);
    let unwritten = 70;
    m.watchNotes(() => unwritten);
    expect(valueOf(await registry.metrics(), 'drover_scheduler_pending_notes_backlog')).toBe(70);
    unwritten = 0;
    expect(valueOf(await registry.metrics(), 'drover_scheduler_pending_notes_backlog')).toBe(0);
  });
});
