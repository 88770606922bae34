import { describe, expect, it } from 'vitest';
import { promiseBehaviour } from '../../../src/actors/index.js';
import type { PromiseCommand } from '../../../src/actors/index.js';
import { deciderSpec, ev, meta } from '../../support/decider-spec.js';

const promise = deciderSpec(promiseBehaviour);
const cmd = (c: Omit<PromiseCommand, 'id' | 'at' | 'by'>): PromiseCommand =>
  ({ ...meta(), ...c }) as PromiseCommand;
const accepted = {
  jobId: '7',
  user: 'ada',
  startBy: 10_000,
  timeoutS: 60,
  request: { cpus: 1, memMb: 64, gpus: 0 },
  booking: { node: 'n1', startAt: 2_000 },
};

describe('promise decider', () => {
  it('accepts once, then is pending with what admission booked', () => {
    const s = promise
      .given([])
      .when(cmd({ type: 'AcceptPromise', data: accepted }))
      .then([{ type: 'promise.accepted', data: accepted }]);
    expect(s.value).toBe('pending');
    expect(s.context.accepted).toEqual(accepted);
    const again = promiseBehaviour.decide(
      promise.given([ev('promise.accepted', accepted)]).state,
      cmd({ type: 'AcceptPromise', data: accepted }),
    );
    expect(again.ok).toBe(false);
  });

  it('is kept by a start no later than start-by, and judged once', () => {
    const kept = { startedSeq: 12, startedAt: 9_000, chunk: '7:0' };
    const s = promise
      .given([ev('promise.accepted', accepted)])
      .when(cmd({ type: 'KeepPromise', data: kept }))
      .then([{ type: 'promise.kept', data: kept }]);
    expect(s.value).toBe('kept');
    const late = promiseBehaviour.decide(
      promise.given([ev('promise.accepted', accepted)]).state,
      cmd({ type: 'KeepPromise', data: { ...kept, startedAt: 11_000 } }),
    );
    expect(late.ok).toBe(false);
    const broken = promiseBehaviour.decide(
      promise.given([ev('promise.accepted', accepted), ev('promise.kept', kept)]).state,
      cmd({ type: 'BreakPromise', data: { why: 'late' } }),
    );
    expect(broken.ok).toBe(false);
  });

  it('is broken when start-by passes without a start', () => {
    const s = promise
      .given([ev('promise.accepted', accepted)])
      .when(cmd({ type: 'BreakPromise', data: { why: 'start-by passed' } }))
      .then([{ type: 'promise.broken', data: { why: 'start-by passed' } }]);
    expect(s.value).toBe('broken');
    expect(s.context.brokenWhy).toBe('start-by passed');
  });
});
