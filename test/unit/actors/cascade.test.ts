import { describe, expect, it } from 'vitest';
import {
  afterChunkEvent,
  afterJobEvent,
  cancelCascade,
  cancelFromParent,
  cascadeCancelId,
  chunkFold,
  closingCommand,
  decideJob,
  derivedId,
  jobFold,
} from '../../../src/actors/index.js';
import type { ChunkSnapshot } from '../../../src/actors/index.js';
import { workerId } from '../../../src/events/index.js';
import type { DroverEvent } from '../../../src/events/index.js';
import { ev, meta, scheduler, spec } from '../../support/decider-spec.js';

const request = { cpus: 1, memMb: 64, gpus: 0 };
const chunkAt = (index: number, ...extra: DroverEvent[]) =>
  chunkFold.foldEvents([ev('chunk.created', { jobId: 'P', index, total: 5 }), ...extra]);
const runningChunk = (index: number) =>
  chunkAt(
    index,
    ev('chunk.assigned', { attempt: 1, node: 'n', worker: workerId('P', index, 1), request }),
    ev('chunk.started', { attempt: 1, pid: 5 }),
  );
const step = (before: ChunkSnapshot, e: DroverEvent) =>
  [before, chunkFold.evolve(before, e), e] as const;

describe('chunk → job', () => {
  it('a chunk becoming terminal settles it on its job, quiescent when nothing is unconfirmed', () => {
    const e = ev('chunk.succeeded', { attempt: 1, result: 1 });
    const out = afterChunkEvent(...step(runningChunk(3), e), scheduler);
    expect(out).toEqual({
      id: 'P',
      command: expect.objectContaining({
        type: 'RecordChunksSettled',
        id: `${e.id}>settled`,
        at: e.at,
        cause: e.id,
        data: { chunks: [{ index: 3, state: 'succeeded', quiescent: true }] },
      }),
    });
  });

  it('a lost process settles it non-quiescent; its confirmation later quiesces it', () => {
    const cancelling = chunkFold.evolve(
      runningChunk(0),
      ev('chunk.cancel_requested', { reason: 'x' }),
    );
    const [b, a, e] = step(cancelling, ev('chunk.cancelled', { attempt: 1, confirmed: false }));
    expect(afterChunkEvent(b, a, e, scheduler)?.command.data).toEqual({
      chunks: [{ index: 0, state: 'cancelled', quiescent: false }],
    });
    const later = step(a, ev('chunk.process_stopped', { attempt: 1 }));
    expect(afterChunkEvent(...later, scheduler)?.command).toMatchObject({
      type: 'RecordChunksQuiesced',
      data: { indices: [0] },
    });
    expect(
      afterChunkEvent(
        ...step(runningChunk(0), ev('chunk.progressed', { attempt: 1, progress: 0.1 })),
        scheduler,
      ),
    ).toBeUndefined();
  });
});

describe('job → parent', () => {
  const child = (...extra: DroverEvent[]) => [
    ev('job.submitted', spec({ chunks: 1, parent: 'P' })),
    ...extra,
  ];

  it('a child becoming terminal settles it on its parent; quiescence follows later', () => {
    const before = jobFold.foldEvents(
      child(
        ev('job.chunks_settled', { chunks: [{ index: 0, state: 'failed', quiescent: false }] }),
      ),
    );
    const e = ev('job.failed', { cause: 'NodeLost', message: 'm' });
    const after = jobFold.evolve(before, e);
    expect(afterJobEvent('K', before, after, e, scheduler)).toEqual({
      id: 'P',
      command: expect.objectContaining({
        type: 'RecordChildSettled',
        data: { childId: 'K', state: 'failed', quiescent: false },
      }),
    });
    const q = ev('job.chunks_quiesced', { indices: [0] });
    const quiet = jobFold.evolve(after, q);
    expect(afterJobEvent('K', after, quiet, q, scheduler)?.command).toMatchObject({
      type: 'RecordChildQuiesced',
      data: { childId: 'K' },
    });
  });

  it('says nothing for a job without parent or a non-terminal change', () => {
    const s = jobFold.foldEvents([ev('job.submitted', spec())]);
    const q = ev('job.queued', {});
    expect(afterJobEvent('K', s, jobFold.evolve(s, q), q, scheduler)).toBeUndefined();
    const c = jobFold.foldEvents(child());
    expect(afterJobEvent('K', c, jobFold.evolve(c, q), q, scheduler)).toBeUndefined();
  });
});

describe('cancelCascade', () => {
  it('cancels live chunks and unsettled children, and settles chunks never created', () => {
    const job = jobFold.foldEvents([
      ev('job.submitted', spec({ chunks: 5 })),
      ev('job.queued', {}),
      ev('job.child_added', { childId: 'kidA' }),
      ev('job.child_added', { childId: 'kidB' }),
      ev('job.child_settled', { childId: 'kidB', state: 'succeeded', quiescent: true }),
      ev('job.chunks_settled', { chunks: [{ index: 4, state: 'succeeded', quiescent: true }] }),
      ev('job.cancel_requested', { reason: 'operator' }),
    ]);
    const cancelling = chunkFold.evolve(
      runningChunk(3),
      ev('chunk.cancel_requested', { reason: 'x' }),
    );
    const chunks = [runningChunk(0), chunkAt(1), undefined, cancelling, undefined];
    const m = { ...meta(), reason: 'operator' };
    const kidA = jobFold.foldEvents([ev('job.submitted', spec({ parent: 'P' }))]);
    const plan = cancelCascade('P', job, chunks, (id) => (id === 'kidA' ? kidA : undefined), m);
    expect(plan.chunks.map((c) => [c.id, c.command.type, c.command.data])).toEqual([
      ['P:0', 'RequestCancel', { reason: 'operator' }],
      ['P:1', 'RequestCancel', { reason: 'operator' }],
    ]);
    expect(plan.children.map((c) => c.id)).toEqual(['kidA']);
    expect(plan.job).toEqual([
      expect.objectContaining({
        type: 'RecordChunksSettled',
        data: { chunks: [{ index: 2, state: 'cancelled', quiescent: true }] },
      }),
    ]);
    expect(new Set([...plan.chunks, ...plan.children].map((c) => c.command.id)).size).toBe(3);
    expect(plan.job.every((c) => decideJob(job, c).ok)).toBe(true);
  });
});

describe('a child added but never submitted', () => {
  const cancelling = jobFold.foldEvents([
    ev('job.submitted', spec({ chunks: 1 })),
    ev('job.held', { reason: 'its tasks are being decided' }),
    ev('job.chunks_settled', { chunks: [{ index: 0, state: 'succeeded', quiescent: true }] }),
    ev('job.child_added', { childId: 'kid' }),
    ev('job.cancel_requested', { reason: 'operator' }),
  ]);

  it('is settled as cancelled by its parent cascade, which can then close', () => {
    // Before: a cancel sent to a job that does not exist (refused), and the parent waited.
    const never = jobFold.initial();
    for (const child of [undefined, never]) {
      const plan = cancelCascade('P', cancelling, [undefined], () => child, {
        ...meta(),
        reason: 'operator',
      });
      expect(plan.children).toEqual([]);
      expect(plan.job).toEqual([
        expect.objectContaining({
          type: 'RecordChildSettled',
          data: { childId: 'kid', state: 'cancelled', quiescent: true },
        }),
      ]);
      const settled = plan.job.reduce((s, c) => {
        const d = decideJob(s, c);
        if (!d.ok) throw new Error(d.rejection.message);
        return d.events.reduce(jobFold.evolve, s);
      }, cancelling);
      expect(closingCommand(settled, meta())?.type).toBe('ConfirmCancelled');
    }
  });

  it('submitted after the cascade looked: its own rule cancels it, with the cascade id', () => {
    const late = jobFold.foldEvents([
      ev('job.submitted', spec({ parent: 'P' })),
      ev('job.queued', {}),
    ]);
    const owed = cancelFromParent('kid', late, cancelling, { at: 5, by: scheduler });
    expect(owed).toEqual({
      id: 'kid',
      command: expect.objectContaining({
        type: 'RequestCancel',
        id: cascadeCancelId('P', 'kid'),
        data: { reason: 'operator' },
      }),
    });
    expect(decideJob(late, owed!.command).ok).toBe(true);
    // Nothing owed under an open parent, or by a child already being cancelled.
    const open = jobFold.foldEvents([ev('job.submitted', spec({ chunks: 1 }))]);
    expect(cancelFromParent('kid', late, open, { at: 5, by: scheduler })).toBeUndefined();
    const going = jobFold.evolve(late, ev('job.cancel_requested', { reason: 'x' }));
    expect(cancelFromParent('kid', going, cancelling, { at: 5, by: scheduler })).toBeUndefined();
  });
});

describe('closingCommand and derivedId', () => {
  it('asks the machine whether a job can be closed', () => {
    const base = [
      ev('job.submitted', spec({ chunks: 1 })),
      ev('job.queued', {}),
      ev('job.started', {}),
    ];
    const settled = ev('job.chunks_settled', {
      chunks: [{ index: 0, state: 'cancelled', quiescent: true }],
    });
    expect(closingCommand(jobFold.foldEvents(base), meta())).toBeUndefined();
    const cancelling = [...base, ev('job.cancel_requested', { reason: 'x' }), settled];
    expect(closingCommand(jobFold.foldEvents(cancelling), meta())?.type).toBe('ConfirmCancelled');
    const done = [
      ...base,
      ev('job.chunks_settled', { chunks: [{ index: 0, state: 'succeeded', quiescent: true }] }),
    ];
    expect(closingCommand(jobFold.foldEvents(done), meta())?.type).toBe('CompleteJob');
  });

  it('keeps nested ids bounded and deterministic', () => {
    let id = 'cmd-1';
    for (let i = 0; i < 20; i++) id = derivedId(`${id}#0`, `cancel:job-${i}:${i}`);
    expect(id.length).toBeLessThanOrEqual(190);
    let again = 'cmd-1';
    for (let i = 0; i < 20; i++) again = derivedId(`${again}#0`, `cancel:job-${i}:${i}`);
    expect(again).toBe(id);
  });
});
