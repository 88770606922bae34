import { describe, expect, it, vi } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  chunkFold,
  chunkMachine,
  createFold,
  fromPlain,
  jobFold,
  jobMachine,
  toPlain,
} from '../../../src/actors/index.js';
import { InvalidTransitionError, workerId } from '../../../src/events/index.js';
import type { ChunkEvent, DroverEvent } from '../../../src/events/index.js';
import { ev, spec } from '../../support/decider-spec.js';

const request = { cpus: 1, memMb: 64, gpus: 0 };
const chunkHistory = (): DroverEvent[] => [
  ev('chunk.created', { jobId: 'J', index: 1, total: 2 }),
  ev('chunk.assigned', { attempt: 1, node: 'n1', worker: workerId('J', 1, 1), request }),
  ev('chunk.started', { attempt: 1, pid: 7 }),
  ev('chunk.progressed', { attempt: 1, progress: 0.4, checkpoint: 'c' }),
  ev('chunk.attempt_failed', { attempt: 1, cause: 'NodeLost', confirmed: false }),
  ev('chunk.command_rejected', { command: 'StartChunk', code: 'InvalidTransition', message: 'm' }),
  ev('chunk.assigned', { attempt: 2, node: 'n2', worker: workerId('J', 1, 2), request }),
  ev('chunk.started', { attempt: 2, pid: 8 }),
  ev('chunk.succeeded', { attempt: 2, result: { rows: [1, 2] } }),
];

describe('createFold', () => {
  it('gives the same snapshots as xstate transition(), with one reused actor scope', () => {
    let pure = initialTransition(chunkMachine)[0];
    let fast = chunkFold.initial();
    for (const e of chunkHistory()) {
      pure = transition(chunkMachine, pure, e as ChunkEvent)[0];
      fast = chunkFold.evolve(fast, e);
      expect(fast.value).toEqual(pure.value);
      expect(fast.context).toEqual(pure.context);
    }
    expect(fast.value).toBe('succeeded');
    expect(chunkFold.foldEvents(chunkHistory()).context).toEqual(fast.context);
  });

  it('detects acceptance of an audit-only event that changes nothing', () => {
    const s = chunkFold.foldEvents(chunkHistory().slice(0, 3));
    const audit = ev('chunk.result_rejected', {
      attempt: 9,
      currentAttempt: 1,
      state: 'running',
      reason: 'stale',
    });
    expect(chunkFold.accepts(s, audit)).toBe(true);
    expect(chunkFold.evolve(s, audit)).toBe(s);
  });

  it('throws InvalidTransitionError naming entity, state and event type', () => {
    const s = chunkFold.foldEvents(chunkHistory().slice(0, 2));
    const stale = ev('chunk.started', { attempt: 2, pid: 1 });
    const error = (() => {
      try {
        chunkFold.evolve(s, stale);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidTransitionError);
    expect(error).toMatchObject({
      entity: 'chunk',
      state: 'assigned',
      eventType: 'chunk.started',
    });
    expect(() => chunkFold.evolve(s, ev('job.queued', {}))).toThrow(InvalidTransitionError);
    expect(chunkFold.explain(s, stale)).toContain('requires data.attempt is the current attempt');
  });

  it('folds a suffix from a given snapshot', () => {
    const events = chunkHistory();
    const mid = chunkFold.foldEvents(events.slice(0, 4));
    expect(chunkFold.foldEvents(events.slice(4), mid).context).toEqual(
      chunkFold.foldEvents(events).context,
    );
  });

  it('works for any machine', () => {
    const fold = createFold(jobMachine);
    expect(fold.foldEvents([ev('job.submitted', spec())]).value).toBe('submitted');
    expect(fold.explain(fold.initial(), ev('job.queued', {}))).toBe(
      'job in state none does not accept job.queued',
    );
  });
});

describe('snapshots survive JSON', () => {
  it('toPlain / fromPlain round-trips and folding continues identically', () => {
    const events = chunkHistory();
    const mid = chunkFold.foldEvents(events.slice(0, 5));
    const plain = JSON.parse(JSON.stringify(toPlain(mid)));
    const restored = fromPlain(chunkMachine, plain);
    expect(restored.value).toBe('retry_wait');
    expect(restored.context).toEqual(mid.context);
    const a = chunkFold.foldEvents(events.slice(5), restored);
    const b = chunkFold.foldEvents(events.slice(5), mid);
    expect(a.value).toBe(b.value);
    expect(a.context).toEqual(b.context);
  });

  it('restores tags, so terminal states stay terminal', () => {
    const done = jobFold.foldEvents([
      ev('job.submitted', spec({ chunks: 1 })),
      ev('job.chunks_settled', { chunks: [{ index: 0, state: 'failed', quiescent: true }] }),
      ev('job.failed', { cause: 'ExitNonZero', message: 'x' }),
    ]);
    const restored = fromPlain(jobMachine, JSON.parse(JSON.stringify(toPlain(done))));
    expect(restored.hasTag('terminal')).toBe(true);
    expect(jobFold.accepts(restored, ev('job.results_cleared', {}))).toBe(true);
  });
});

describe('machines describe effects, never run them', () => {
  it('returns the audit action without calling its implementation', () => {
    const noteRejection = vi.fn();
    const machine = jobMachine.provide({ actions: { noteRejection } });
    const [s] = transition(machine, initialTransition(machine)[0], ev('job.submitted', spec()));
    const audit = ev('job.command_rejected', {
      command: 'CompleteJob',
      code: 'InvalidTransition',
      message: 'm',
    });
    const [next, actions] = transition(machine, s, audit);
    expect(actions.map((a) => a.type)).toEqual(['noteRejection']);
    expect(noteRejection).not.toHaveBeenCalled();
    expect(next.value).toBe('submitted');
    expect(next.context).toEqual(s.context);
  });
});
