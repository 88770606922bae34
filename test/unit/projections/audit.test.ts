import { describe, expect, it } from 'vitest';
import { auditFrom, auditPlan, auditProjection } from '../../../src/projections/index.js';
import { handLog, spec } from '../../support/projection-log.js';

const T = 1_700_000_000_000;

function tree() {
  const log = handLog();
  const user = { kind: 'user' as const, id: 'ann' };
  log.add('job', 'P', T, 'job.submitted', spec({ chunks: 1 }), user);
  log.add('chunk', 'P:0', T + 1, 'chunk.created', { jobId: 'P', index: 0, total: 1 });
  log.add('job', 'C', T + 2, 'job.submitted', spec({ parent: 'P' }), user);
  log.add('job', 'P', T + 3, 'job.child_added', { childId: 'C' });
  log.add('chunk', 'P:0', T + 4, 'chunk.assigned', {
    attempt: 1,
    node: 'n1',
    worker: 'P:0:1',
    request: { cpus: 1, memMb: 64, gpus: 0 },
  });
  log.add(
    'worker',
    'P:0:1',
    T + 5,
    'worker.launching',
    { jobId: 'P', chunk: 0, attempt: 1, node: 'n1', memLimitMb: 64 },
    { kind: 'agent', id: 'n1' },
  );
  log.add('node', 'n1', T + 6, 'node.ready', {});
  log.add(
    'job',
    'P',
    T + 7,
    'job.command_rejected',
    { command: 'clear', code: 'STATE', message: 'still running' },
    user,
  );
  log.add('chunk', 'C:0', T + 8, 'chunk.created', { jobId: 'C', index: 0, total: 1 });
  log.add('chunk', 'P:0', T + 9, 'chunk.result_rejected', {
    attempt: 0 + 1,
    currentAttempt: 2,
    state: 'running',
    reason: 'stale attempt',
  });
  log.add('job', 'PX', T + 10, 'job.submitted', spec(), user);
  log.add('chunk', 'PX:0', T + 11, 'chunk.created', { jobId: 'PX', index: 0, total: 1 });
  return log;
}

describe('audit projection', () => {
  it('a job shows its whole tree in log order: chunks, workers, child jobs, rejections, late results', () => {
    const log = tree();
    const s = log.fold(auditProjection);
    const bySeq = new Map(log.events.map((e) => [e.recorded.seq, e]));
    const entries = auditFrom(s, 'P', bySeq);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10]);
    expect(entries.map((e) => e.type)).toContain('job.command_rejected');
    expect(entries.map((e) => e.type)).toContain('chunk.result_rejected');
    expect(entries[5]).toMatchObject({
      seq: 6,
      at: T + 5,
      subject: 'drover.ev.worker.P:0:1',
      type: 'worker.launching',
      by: { kind: 'agent', id: 'n1' },
    });
    expect(entries.find((e) => e.type === 'job.command_rejected')?.data).toMatchObject({
      message: 'still running',
    });
  });

  it('a chunk shows itself and its workers; a worker and a node only themselves; unknown ids are not found', () => {
    const s = tree().fold(auditProjection);
    expect(auditPlan(s, 'P:0').seqs).toEqual([2, 5, 6, 10]);
    expect(auditPlan(s, 'P:0:1').seqs).toEqual([6]);
    expect(auditPlan(s, 'n1').seqs).toEqual([7]);
    expect(auditPlan(s, 'C').seqs).toEqual([3, 9]);
    expect(auditPlan(s, 'nope').found).toBe(false);
  });
});
