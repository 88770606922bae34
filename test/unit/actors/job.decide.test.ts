import { describe, expect, it } from 'vitest';
import { chunkSettlements, decideJob, jobBehaviour, jobFold } from '../../../src/actors/index.js';
import type { ChunkSettlements, JobCommand } from '../../../src/actors/index.js';
import { InvalidTransitionError } from '../../../src/events/index.js';
import { deciderSpec, ev, meta, spec } from '../../support/decider-spec.js';

const job = deciderSpec(jobBehaviour);
const submitted = () => ev('job.submitted', spec({ chunks: 2 }));
const queued = () => [submitted(), ev('job.queued', {})];
const running = () => [...queued(), ev('job.started', {})];
const withChild = () => [...running(), ev('job.child_added', { childId: 'kid' })];
const settle = (index: number, state: 'succeeded' | 'failed' | 'cancelled', quiescent = true) =>
  ev('job.chunks_settled', { chunks: [{ index, state, quiescent }] });
const cmd = (c: Omit<JobCommand, 'id' | 'at' | 'by'>): JobCommand =>
  ({ ...meta(), ...c }) as JobCommand;
const entries = (chunks: ChunkSettlements) =>
  Array.from({ length: chunks.total }, (_, i) => chunkSettlements.at(chunks, i));

describe('job decider: life cycle', () => {
  it('submits a job: chunks unsettled, priority and creation time from the spec and command', () => {
    const command = cmd({ type: 'SubmitJob', data: spec({ chunks: 3, priority: 7 }) });
    const s = job
      .given([])
      .when(command)
      .then([{ type: 'job.submitted', data: spec({ chunks: 3, priority: 7 }) }]);
    expect(s.value).toBe('submitted');
    expect(entries(s.context.chunks)).toEqual([null, null, null]);
    expect(s.context).toMatchObject({
      priority: 7,
      chunks: { total: 3, settled: 0, succeeded: 0, unquiescent: 0 },
      children: {},
      createdAt: command.at,
    });
    expect(s.context.resultsCleared).toBe(false);
  });

  it('rejects an invalid spec with the field named, and cannot audit a job that does not exist', () => {
    const outcome = job.given([]).when(cmd({ type: 'SubmitJob', data: spec({ memMb: -1 }) }));
    outcome.thenRejected('InvalidCommand');
    expect(!outcome.decision.ok && outcome.decision.rejection.message).toContain('data.memMb');
  });

  it('queues, holds, releases and starts', () => {
    let s = job
      .given([submitted()])
      .when(cmd({ type: 'QueueJob' }))
      .then([{ type: 'job.queued' }]);
    s = job
      .given([submitted(), ev('job.queued', {})])
      .when(cmd({ type: 'HoldJob', data: { reason: 'wait' } }))
      .then([{ type: 'job.held', data: { reason: 'wait' } }]);
    expect(s.value).toBe('held');
    expect(s.context.holdReason).toBe('wait');
    s = jobFold.evolve(s, ev('job.released', {}));
    expect(s.value).toBe('queued');
    expect(s.context.holdReason).toBeUndefined();
    const started = job.given(queued()).when(cmd({ type: 'StartJob' }));
    expect(started.then([{ type: 'job.started' }]).context.startedAt).toBe(
      started.decision.ok && started.decision.events[0]?.at,
    );
  });

  it('rejects an illegal command with the state and command named, audited by job.command_rejected', () => {
    const outcome = job.given(queued()).when(cmd({ type: 'ReleaseJob', data: {} }));
    const after = outcome.thenRejected('InvalidTransition', ['job.command_rejected']);
    expect(!outcome.decision.ok && outcome.decision.rejection.message).toMatch(
      /ReleaseJob.*queued.*job\.released/,
    );
    expect(after).toBe(outcome.state);
  });

  it('fills the default of ChangePriority and accepts it until the job is terminal', () => {
    const data = { priority: 9, reason: 'deadline' };
    const s = job
      .given(running())
      .when(cmd({ type: 'ChangePriority', data }))
      .then([{ type: 'job.priority_changed', data: { ...data, global: false } }]);
    expect(s.context.priority).toBe(9);
    const done = [
      ...running(),
      settle(0, 'succeeded'),
      settle(1, 'succeeded'),
      ev('job.succeeded', {}),
    ];
    job
      .given(done)
      .when(cmd({ type: 'ChangePriority', data }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
  });
});

describe('job decider: children and chunks', () => {
  it('adds a child once, and not once cancelling', () => {
    job
      .given(running())
      .when(cmd({ type: 'AddChild', data: { childId: 'kid' } }))
      .then([{ type: 'job.child_added', data: { childId: 'kid' } }]);
    job
      .given(withChild())
      .when(cmd({ type: 'AddChild', data: { childId: 'kid' } }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const cancelling = [...running(), ev('job.cancel_requested', { reason: 'x' })];
    job
      .given(cancelling)
      .when(cmd({ type: 'AddChild', data: { childId: 'k2' } }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
  });

  it('records chunk settlements once: out of range, conflicting or in-batch conflicts are rejected', () => {
    const s = job.given(running()).when(
      cmd({
        type: 'RecordChunksSettled',
        data: { chunks: [{ index: 1, state: 'failed', quiescent: false }] },
      }),
    );
    const { chunks: after } = s.then([
      {
        type: 'job.chunks_settled',
        data: { chunks: [{ index: 1, state: 'failed', quiescent: false }] },
      },
    ]).context;
    expect(entries(after)).toEqual([null, { state: 'failed', quiescent: false }]);
    expect(after).toMatchObject({ settled: 1, succeeded: 0, unquiescent: 1 });
    const given = [...running(), settle(1, 'failed', false)];
    const same = { chunks: [{ index: 1, state: 'failed' as const, quiescent: false }] };
    job
      .given(given)
      .when(cmd({ type: 'RecordChunksSettled', data: same }))
      .then([{ type: 'job.chunks_settled', data: same }]);
    for (const chunks of [
      [{ index: 2, state: 'failed' as const, quiescent: true }],
      [{ index: 1, state: 'succeeded' as const, quiescent: true }],
      [
        { index: 0, state: 'failed' as const, quiescent: true },
        { index: 0, state: 'succeeded' as const, quiescent: true },
      ],
    ]) {
      job
        .given(given)
        .when(cmd({ type: 'RecordChunksSettled', data: { chunks } }))
        .thenRejected('InvalidTransition', ['job.command_rejected']);
    }
  });

  it('records quiescence only of settled, non-quiescent chunks and children', () => {
    const given = [
      ...withChild(),
      settle(0, 'failed', false),
      ev('job.child_settled', { childId: 'kid', state: 'cancelled', quiescent: false }),
    ];
    const s = job
      .given(given)
      .when(cmd({ type: 'RecordChunksQuiesced', data: { indices: [0] } }))
      .then([{ type: 'job.chunks_quiesced', data: { indices: [0] } }]);
    expect(chunkSettlements.at(s.context.chunks, 0)).toEqual({ state: 'failed', quiescent: true });
    expect(s.context.chunks).toMatchObject({ settled: 1, unquiescent: 0 });
    job
      .given(given)
      .when(cmd({ type: 'RecordChunksQuiesced', data: { indices: [1] } }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const k = job
      .given(given)
      .when(cmd({ type: 'RecordChildQuiesced', data: { childId: 'kid' } }))
      .then([{ type: 'job.child_quiesced', data: { childId: 'kid' } }]);
    expect(k.context.children.kid).toEqual({ state: 'cancelled', quiescent: true });
    job
      .given(given)
      .when(cmd({ type: 'RecordChildQuiesced', data: { childId: 'other' } }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
  });
});

describe('job decider: endings', () => {
  const allDone = () => [...withChild(), settle(0, 'succeeded'), settle(1, 'succeeded')];

  it('completes only when every chunk and child succeeded', () => {
    const refused = job.given(allDone()).when(cmd({ type: 'CompleteJob' }));
    refused.thenRejected('InvalidTransition', ['job.command_rejected']);
    expect(!refused.decision.ok && refused.decision.rejection.message).toContain(
      'every chunk and every child settled succeeded',
    );
    const given = [
      ...allDone(),
      ev('job.child_settled', { childId: 'kid', state: 'succeeded', quiescent: true }),
    ];
    const s = job
      .given(given)
      .when(cmd({ type: 'CompleteJob' }))
      .then([{ type: 'job.succeeded' }]);
    expect(s.value).toBe('succeeded');
    expect(s.hasTag('terminal')).toBe(true);
    expect(s.context.endedAt).toBeGreaterThan(0);
  });

  it('fails only once everything is settled, keeping the outcome', () => {
    const data = { cause: 'ExitNonZero' as const, message: 'exit 1', chunk: 0 };
    job
      .given(running())
      .when(cmd({ type: 'FailJob', data }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const s = job
      .given([...running(), settle(0, 'failed'), settle(1, 'cancelled')])
      .when(cmd({ type: 'FailJob', data }))
      .then([{ type: 'job.failed', data }]);
    expect(s.context.outcome).toEqual(data);
  });

  it('reads cancelled only when every chunk and child is settled and quiescent', () => {
    const cancelling = [...withChild(), ev('job.cancel_requested', { reason: 'operator' })];
    const partly = [
      ...cancelling,
      settle(0, 'cancelled'),
      settle(1, 'cancelled', false),
      ev('job.child_settled', { childId: 'kid', state: 'cancelled', quiescent: true }),
    ];
    job
      .given(partly)
      .when(cmd({ type: 'ConfirmCancelled' }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const s = job
      .given([...partly, ev('job.chunks_quiesced', { indices: [1] })])
      .when(cmd({ type: 'ConfirmCancelled' }))
      .then([{ type: 'job.cancelled' }]);
    expect(s.value).toBe('cancelled');
    expect(s.context.outcome).toEqual({ cause: 'Cancelled', message: 'operator' });
  });

  it('clears results once, only when terminal and quiescent', () => {
    job
      .given(running())
      .when(cmd({ type: 'ClearResults' }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const failed = [
      ...running(),
      settle(0, 'failed', false),
      settle(1, 'cancelled'),
      ev('job.failed', { cause: 'ExitNonZero', message: '' }),
    ];
    job
      .given(failed)
      .when(cmd({ type: 'ClearResults' }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
    const quiet = [...failed, ev('job.chunks_quiesced', { indices: [0] })];
    const s = job
      .given(quiet)
      .when(cmd({ type: 'ClearResults' }))
      .then([{ type: 'job.results_cleared' }]);
    expect(s.context.resultsCleared).toBe(true);
    job
      .given([...quiet, ev('job.results_cleared', {})])
      .when(cmd({ type: 'ClearResults' }))
      .thenRejected('InvalidTransition', ['job.command_rejected']);
  });
});

describe('job decider: determinism', () => {
  it('a retried command yields the very same events; corr and cause are carried', () => {
    const s = jobFold.foldEvents(queued());
    const command: JobCommand = { ...meta(), corr: 'op-1', cause: 'ev-0', type: 'StartJob' };
    const a = decideJob(s, command);
    expect(a).toEqual(decideJob(s, command));
    expect(a.ok && a.events[0]).toMatchObject({
      id: `${command.id}#0`,
      corr: 'op-1',
      cause: 'ev-0',
    });
  });

  it('evolve throws InvalidTransitionError on a rejected event and leaves the snapshot alone', () => {
    const s = jobFold.foldEvents(queued());
    const bad = ev('job.cancelled', {});
    expect(jobFold.tryEvolve(s, bad)).toBeUndefined();
    expect(() => jobFold.evolve(s, bad)).toThrow(InvalidTransitionError);
    expect(() => jobFold.evolve(s, bad)).toThrow(
      'job in state queued does not accept job.cancelled',
    );
    expect(s.value).toBe('queued');
  });
});
