import { describe, expect, it } from 'vitest';
import type { ChunkSnapshot, JobSnapshot } from '../../../src/actors/index.js';
import type { Action, Peek, RuleContext } from '../../../src/scheduler/rules.js';
import { RulesPump, type RuleSet } from '../../../src/scheduler/rules-pump.service.js';

const job = (state: string, over: Record<string, unknown> = {}) =>
  ({
    value: state,
    context: { chunks: { total: 2 }, spec: {}, ...over },
  }) as unknown as JobSnapshot;

function pumpWith(jobs: Record<string, JobSnapshot>, dependents = new Map<string, Set<string>>()) {
  const calls: string[] = [];
  const rules: RuleSet = {
    chunk: (_c, id) => (calls.push(`chunk ${id}`), []),
    job: (_c, id, cascaded) => (calls.push(`job ${id}${cascaded ? ' cascaded' : ''}`), []),
    clear: (_c, id) => (calls.push(`clear ${id}`), []),
  };
  const peek = { job: (id: string) => jobs[id] } as unknown as Peek;
  const ran: Action[][] = [];
  const pump = new RulesPump({
    peek,
    dependents,
    context: () => ({}) as RuleContext,
    run: (a) => ran.push(a),
    rules,
    budgetMs: Infinity, // each drain puts everything to the rules
  });
  return { pump, calls };
}

describe('RulesPump: changed entities to the rules, once per drain', () => {
  it('a chunk marks itself and its job; a worker its chunk; a job its parent and dependents', () => {
    const { pump } = pumpWith({}, new Map([['j1', new Set(['j9'])]]));
    pump.mark({ entity: 'chunk', id: 'j1:0', state: {} as ChunkSnapshot });
    pump.mark({ entity: 'worker', id: 'j2:3:1', state: {} as never });
    pump.mark({ entity: 'job', id: 'j1', state: job('running', { spec: { parent: 'p' } }) });
    expect(pump.pending().sort()).toEqual([
      'chunk:j1:0',
      'chunk:j2:3',
      'job:j1',
      'job:j9',
      'job:p',
    ]);
  });

  it('drains each key once, and a cancelling job is cascaded once per sweep', () => {
    const { pump, calls } = pumpWith({ j1: job('cancelling') });
    pump.mark({ entity: 'job', id: 'j1', state: job('cancelling') });
    pump.mark({ entity: 'job', id: 'j1', state: job('cancelling') });
    pump.drain();
    pump.mark({ entity: 'job', id: 'j1', state: job('cancelling') });
    pump.drain();
    expect(calls).toEqual(['job j1', 'job j1 cascaded']);
    calls.length = 0;
    pump.sweep(['j1']);
    pump.drain();
    expect(calls.sort()).toEqual(['chunk j1:0', 'chunk j1:1', 'job j1']);
  });

  it('a sweep puts to the rules the children an open parent still waits for', () => {
    const children = {
      c1: null, // ended or not, not yet recorded as settled
      c2: { state: 'succeeded', quiescent: true }, // nothing more to tell
      c3: { state: 'failed', quiescent: false }, // settled, not yet quiesced
    };
    const { pump, calls } = pumpWith({ p: job('running', { chunks: { total: 0 }, children }) });
    pump.sweep(['p']);
    pump.drain();
    expect(calls.sort()).toEqual(['job c1', 'job c3', 'job p']);
  });

  it("clears a job's chunks once, however often the job is put to the rules", () => {
    const { pump, calls } = pumpWith({ j1: job('succeeded', { resultsCleared: true }) });
    for (let i = 0; i < 3; i++) {
      pump.mark({ entity: 'job', id: 'j1', state: job('succeeded') });
      pump.drain();
    }
    expect(calls.filter((c) => c.startsWith('clear'))).toEqual(['clear j1']);
  });
});
