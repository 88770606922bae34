import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  chunkMachine,
  fromPlain,
  jobMachine,
  nodeMachine,
  toPlain,
  workerMachine,
} from '../../../src/actors/index.js';
import type { AnyStateMachine } from 'xstate';
import { entityPrograms, programArb, runProgram } from './commands.js';

const machines: Record<string, AnyStateMachine> = {
  job: jobMachine,
  chunk: chunkMachine,
  worker: workerMachine,
  node: nodeMachine,
};

// Seeds of past failures are pinned here as `{ seed, path }` examples when one shows up.
describe.each(entityPrograms.map((p) => [p.name, p] as const))('%s fold', (name, program) => {
  const { behaviour } = program;
  const fold = (events: readonly unknown[], from = behaviour.initial()) =>
    (events as Parameters<typeof behaviour.evolve>[1][]).reduce(
      (s, e) => behaviour.evolve(s, e),
      from,
    );

  test.prop([programArb, fc.nat()], { numRuns: 1000 })(
    'fold(all) equals fold(suffix) from fold(prefix), also through a JSON checkpoint',
    (steps, cut) => {
      const events = runProgram(program, steps);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      const k = events.length ? cut % (events.length + 1) : 0;
      const whole = fold(events) as { value: unknown; context: unknown };
      const prefix = fold(events.slice(0, k)) as { value: never; context: unknown };
      const resumed = fold(events.slice(k), prefix as never) as typeof whole;
      expect(resumed.value).toEqual(whole.value);
      expect(resumed.context).toEqual(whole.context);
      const plain = JSON.parse(JSON.stringify(toPlain(prefix)));
      const viaJson = fold(
        events.slice(k),
        fromPlain(machines[name] as AnyStateMachine, plain) as never,
      );
      expect((viaJson as typeof whole).value).toEqual(whole.value);
      expect((viaJson as typeof whole).context).toEqual(whole.context);
    },
  );
});
