import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  chunkFold,
  chunkMachine,
  compileFold,
  jobFold,
  jobMachine,
  nodeFold,
  nodeMachine,
  toPlain,
  workerFold,
  workerMachine,
  type Fold,
} from '../../../src/actors/index.js';
import type { DroverEvent } from '../../../src/events/index.js';
import { entityPrograms, programArb, runProgram } from './commands.js';

/**
 * The compiled fold is the replay hot path; xstate's `machine.transition` is the reference. They
 * must agree on every event — accepted or rejected — and on the whole snapshot after each one.
 * Histories: valid programs (deep into each life cycle), with noise spliced in: earlier events
 * replayed out of order (repeats, late reports), some with their numbers nudged (a stale or a
 * future attempt, another chunk index): exactly what guards must tell apart.
 */
const cases = [
  { name: 'job', machine: jobMachine, fold: jobFold },
  { name: 'chunk', machine: chunkMachine, fold: chunkFold },
  { name: 'worker', machine: workerMachine, fold: workerFold },
  { name: 'node', machine: nodeMachine, fold: nodeFold },
] as const;

const splice = fc.array(
  fc.record({ at: fc.nat(64), from: fc.nat(64), nudge: fc.integer({ min: -1, max: 1 }) }),
  { maxLength: 10 },
);

/** The event with every number in its data moved by `by` (attempts, indices, pids, sizes). */
function nudged(event: DroverEvent, by: number): DroverEvent {
  const walk = (v: unknown): unknown =>
    typeof v === 'number'
      ? Math.max(0, v + by)
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return by === 0 ? event : ({ ...event, data: walk(event.data) } as DroverEvent);
}

describe.each(cases)('compiled $name fold', ({ name, machine, fold }) => {
  const program = entityPrograms.find((p) => p.name === name)!;
  const compiled = compileFold<unknown>(machine);
  const reference = fold as unknown as Fold<Parameters<typeof toPlain>[0]>;

  test.prop([programArb, splice], { numRuns: 1000 })(
    'agrees with machine.transition on every event and every snapshot',
    (steps, cuts) => {
      const history = runProgram(program, steps);
      const mixed = [...history];
      for (const cut of cuts) {
        const extra = history[cut.from % Math.max(1, history.length)];
        if (extra) mixed.splice(cut.at % (mixed.length + 1), 0, nudged(extra, cut.nudge));
      }
      let x = reference.initial();
      let c = compiled.initial();
      for (const event of mixed) {
        // The reference is xstate itself: machine.transition through the inert scope.
        const xNext = reference.tryEvolve(x, event);
        const accepted = xNext !== undefined;
        const next = compiled.step(c, event);
        expect(next !== undefined, `${event.type} in ${String(c.value)}`).toBe(accepted);
        if (!xNext || !next) continue;
        x = xNext;
        c = next;
        expect(c).toEqual(toPlain(x));
      }
    },
  );
});
