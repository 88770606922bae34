import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import {
  chunkFold,
  chunkMachine,
  jobFold,
  jobMachine,
  nodeFold,
  nodeMachine,
  workerFold,
  workerMachine,
  type Fold,
} from '../../../src/actors/index.js';
import { entityPrograms, programArb, runProgram } from './commands.js';

/**
 * The live folds keep lean snapshots (value and context own, the rest on a shared prototype):
 * every question xstate's own snapshot answers must get the same answer from them, after every
 * event of random histories, and asked with every event of the history (`can`).
 */
const cases = [
  { name: 'job', machine: jobMachine, fold: jobFold },
  { name: 'chunk', machine: chunkMachine, fold: chunkFold },
  { name: 'worker', machine: workerMachine, fold: workerFold },
  { name: 'node', machine: nodeMachine, fold: nodeFold },
] as const;

describe.each(cases)('lean $name snapshots', ({ name, machine, fold }) => {
  const program = entityPrograms.find((p) => p.name === name)!;
  const live = fold as unknown as Fold<AnyMachineSnapshot>;
  const m = machine as AnyStateMachine;
  const states = Object.keys(m.root.states);

  test.prop([programArb], { numRuns: 100 })('answer as xstate snapshots do', (steps) => {
    const history = runProgram(program, steps);
    let s = live.initial();
    for (const event of history) {
      s = live.evolve(s, event);
      const x = m.resolveState({ value: s.value, context: s.context }) as AnyMachineSnapshot;
      expect(s.status).toBe(x.status);
      expect([...s.tags]).toEqual([...x.tags]);
      expect(s.hasTag('terminal')).toBe(x.hasTag('terminal'));
      for (const st of states) expect(s.matches(st as never)).toBe(x.matches(st as never));
      for (const e of history) expect(s.can(e)).toBe(x.can(e));
      expect(s._nodes.map((n) => n.id)).toEqual(x._nodes.map((n) => n.id));
      expect(JSON.parse(JSON.stringify(s))).toEqual(JSON.parse(JSON.stringify(x)));
      expect(s.machine).toBe(x.machine);
    }
  });
});

describe('lean snapshots', () => {
  it('hold only their state and context (no per-snapshot tags Set, nodes or methods)', () => {
    const history = runProgram(entityPrograms.find((p) => p.name === 'job')!, [
      [0, 0, 0, false, true],
    ]);
    expect(history.length).toBeGreaterThan(0);
    const s = jobFold.foldEvents(history);
    expect(Object.keys(s).sort()).toEqual(['context', 'value']);
  });

  test.prop([fc.constantFrom(...cases)])('every live fold is lean', ({ name, fold }) => {
    const history = runProgram(entityPrograms.find((p) => p.name === name)!, []);
    const f = fold as unknown as Fold<AnyMachineSnapshot>;
    const s = history.reduce((acc, e) => f.evolve(acc, e), f.initial());
    if (s !== f.initial()) expect(Object.keys(s).sort()).toEqual(['context', 'value']);
  });
});
