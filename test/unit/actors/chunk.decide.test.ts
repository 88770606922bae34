import { describe, expect, it } from 'vitest';
import { chunkBehaviour, chunkFold } from '../../../src/actors/index.js';
import type { ChunkCommand } from '../../../src/actors/index.js';
import { workerId } from '../../../src/events/index.js';
import type { DroverEvent } from '../../../src/events/index.js';
import { deciderSpec, ev, meta } from '../../support/decider-spec.js';

const chunk = deciderSpec(chunkBehaviour);
const cmd = (c: Omit<ChunkCommand, 'id' | 'at' | 'by'>): ChunkCommand =>
  ({ ...meta(), ...c }) as ChunkCommand;
const request = { cpus: 1, memMb: 256, gpus: 0 };
const assigned = (attempt: number, node = 'n1') =>
  ev('chunk.assigned', { attempt, node, worker: workerId('J', 0, attempt), request });
const created = (): DroverEvent[] => [ev('chunk.created', { jobId: 'J', index: 0, total: 2 })];
const running = (attempt = 1) => [
  ...created(),
  assigned(attempt),
  ev('chunk.started', { attempt, pid: 42 }),
];
const lostThenRunning = () => [
  ...running(1),
  ev('chunk.attempt_failed', { attempt: 1, cause: 'NodeLost', confirmed: false }),
  assigned(2, 'n2'),
  ev('chunk.started', { attempt: 2, pid: 43 }),
];

describe('chunk decider: attempts are fencing tokens', () => {
  it('creates a chunk and opens exactly the next attempt', () => {
    const s = chunk
      .given(created())
      .when(
        cmd({ type: 'AssignChunk', data: { attempt: 1, node: 'n1', worker: 'J:0:1', request } }),
      )
      .then([
        { type: 'chunk.assigned', data: { attempt: 1, node: 'n1', worker: 'J:0:1', request } },
      ]);
    expect(s.value).toBe('assigned');
    expect(s.context).toMatchObject({
      jobId: 'J',
      index: 0,
      total: 2,
      attempt: 1,
      node: 'n1',
      worker: 'J:0:1',
    });
    expect(s.context.attempts).toEqual([{ attempt: 1, node: 'n1', worker: 'J:0:1' }]);
    chunk
      .given(created())
      .when(
        cmd({ type: 'AssignChunk', data: { attempt: 2, node: 'n1', worker: 'J:0:2', request } }),
      )
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
  });

  it('never opens a second live attempt', () => {
    const data = { attempt: 2, node: 'n1', worker: 'J:0:2', request };
    chunk
      .given(running())
      .when(cmd({ type: 'AssignChunk', data }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
  });

  it('starts and progresses only the current attempt, keeping the last checkpoint', () => {
    chunk
      .given([...created(), assigned(1)])
      .when(cmd({ type: 'StartChunk', data: { attempt: 2, pid: 1 } }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    let s = chunk
      .given(running())
      .when(cmd({ type: 'ReportProgress', data: { attempt: 1, progress: 0.5, checkpoint: 'cp1' } }))
      .then([{ type: 'chunk.progressed', data: { attempt: 1, progress: 0.5, checkpoint: 'cp1' } }]);
    s = chunkFold.evolve(s, ev('chunk.progressed', { attempt: 1, progress: 0.7 }));
    expect(s.context).toMatchObject({ progress: 0.7, checkpoint: 'cp1' });
  });

  it('stores the result of the current attempt', () => {
    const s = chunk
      .given(running())
      .when(cmd({ type: 'ReportResult', data: { attempt: 1, result: { rows: 3 } } }))
      .then([{ type: 'chunk.succeeded', data: { attempt: 1, result: { rows: 3 } } }]);
    expect(s.value).toBe('succeeded');
    expect(s.context.result).toEqual({ rows: 3 });
    expect(s.context.attempts[0]?.cause).toBe('Succeeded');
  });
});

describe('chunk decider: stale results are rejected and audited, never stored', () => {
  const stale = (
    given: ReturnType<typeof running>,
    attempt: number,
    reason: RegExp,
    state: string,
  ) => {
    const outcome = chunk
      .given(given)
      .when(cmd({ type: 'ReportResult', data: { attempt, result: 'late' } }));
    const after = outcome.thenRejected('StaleResult', ['chunk.result_rejected']);
    const audit = !outcome.decision.ok ? outcome.decision.audit?.[0] : undefined;
    expect(audit?.data).toMatchObject({
      attempt,
      currentAttempt: outcome.state.context.attempt,
      state,
    });
    expect((audit?.data as { reason: string }).reason).toMatch(reason);
    expect(after.value).toBe(outcome.state.value);
    expect(after.context).toEqual(outcome.state.context);
  };

  it('from an older attempt', () =>
    stale(lostThenRunning(), 1, /not the current attempt 2/, 'running'));
  it('of an attempt that already ended', () =>
    stale(
      [
        ...running(),
        ev('chunk.attempt_failed', { attempt: 1, cause: 'ExitNonZero', confirmed: true }),
      ],
      1,
      /already ended/,
      'retry_wait',
    ));
  it('while cancelling', () =>
    stale(
      [...running(), ev('chunk.cancel_requested', { reason: 'x' })],
      1,
      /cancelling/,
      'cancelling',
    ));
  it('after cancel', () =>
    stale(
      [
        ...running(),
        ev('chunk.cancel_requested', { reason: 'x' }),
        ev('chunk.cancelled', { attempt: 1, confirmed: true }),
      ],
      1,
      /cancelled/,
      'cancelled',
    ));
  it('after clear', () =>
    stale(
      [...running(), ev('chunk.succeeded', { attempt: 1 }), ev('chunk.results_cleared', {})],
      1,
      /cleared/,
      'succeeded',
    ));

  it('a result before the start is an ordinary invalid transition; none cannot be audited', () => {
    chunk
      .given([...created(), assigned(1)])
      .when(cmd({ type: 'ReportResult', data: { attempt: 1 } }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    chunk
      .given([])
      .when(cmd({ type: 'ReportResult', data: { attempt: 1 } }))
      .thenRejected('InvalidTransition');
  });
});

describe('chunk decider: failures, cancel and clear', () => {
  it('remembers unconfirmed attempts until their process is confirmed stopped', () => {
    const s = chunkFold.foldEvents(lostThenRunning());
    expect(s.context.unconfirmed).toEqual([1]);
    expect(s.context.attempts.map((a) => a.cause)).toEqual(['NodeLost', undefined]);
    const stopped = chunk
      .given(lostThenRunning())
      .when(cmd({ type: 'ConfirmProcessStopped', data: { attempt: 1 } }))
      .then([{ type: 'chunk.process_stopped', data: { attempt: 1 } }]);
    expect(stopped.context.unconfirmed).toEqual([]);
    chunk
      .given(lostThenRunning())
      .when(cmd({ type: 'ConfirmProcessStopped', data: { attempt: 2 } }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
  });

  it('cancels a chunk without a process at once, and one with a process through cancelling', () => {
    const data = { reason: 'operator' };
    chunk
      .given(created())
      .when(cmd({ type: 'RequestCancel', data }))
      .then([{ type: 'chunk.cancelled', data: { confirmed: true } }]);
    const s = chunk
      .given(running())
      .when(cmd({ type: 'RequestCancel', data }))
      .then([{ type: 'chunk.cancel_requested', data }]);
    expect(s.value).toBe('cancelling');
    const cancelling = [...running(), ev('chunk.cancel_requested', data)];
    chunk
      .given(cancelling)
      .when(cmd({ type: 'RequestCancel', data }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    chunk
      .given(cancelling)
      .when(cmd({ type: 'ConfirmCancelled', data: { attempt: 2, confirmed: true } }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    const lost = chunk
      .given(cancelling)
      .when(cmd({ type: 'ConfirmCancelled', data: { attempt: 1, confirmed: false } }))
      .then([{ type: 'chunk.cancelled', data: { attempt: 1, confirmed: false } }]);
    expect(lost.value).toBe('cancelled');
    expect(lost.context.unconfirmed).toEqual([1]);
  });

  it('fails for good only between attempts', () => {
    const data = { cause: 'ExitNonZero' as const, message: 'retries exhausted' };
    chunk
      .given(running())
      .when(cmd({ type: 'FailChunk', data }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    const retry = [
      ...running(),
      ev('chunk.attempt_failed', {
        attempt: 1,
        cause: 'ExitNonZero',
        exitCode: 1,
        confirmed: true,
      }),
    ];
    const s = chunk
      .given(retry)
      .when(cmd({ type: 'FailChunk', data }))
      .then([{ type: 'chunk.failed', data }]);
    expect(s.value).toBe('failed');
    expect(s.context.attempts[0]).toMatchObject({ cause: 'ExitNonZero', exitCode: 1 });
  });

  it('clears results once, only when every process is confirmed stopped', () => {
    const done = [...lostThenRunning(), ev('chunk.succeeded', { attempt: 2, result: 1 })];
    chunk
      .given(done)
      .when(cmd({ type: 'ClearResults' }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
    const quiet = [...done, ev('chunk.process_stopped', { attempt: 1 })];
    const s = chunk
      .given(quiet)
      .when(cmd({ type: 'ClearResults' }))
      .then([{ type: 'chunk.results_cleared' }]);
    expect(s.context.resultsCleared).toBe(true);
    expect(s.context.result).toBeUndefined();
    chunk
      .given([...quiet, ev('chunk.results_cleared', {})])
      .when(cmd({ type: 'ClearResults' }))
      .thenRejected('InvalidTransition', ['chunk.command_rejected']);
  });
});
