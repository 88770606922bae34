import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  chunkFold,
  chunkMachine,
  compileFold,
  createFold,
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

/** Histories with noise: valid programs, earlier events spliced in again, some nudged. */
function noisyHistory(
  name: string,
  steps: Parameters<typeof runProgram>[1],
  cuts: { at: number; from: number; nudge: number }[],
): DroverEvent[] {
  const program = entityPrograms.find((p) => p.name === name)!;
  const history = runProgram(program, steps);
  const mixed = [...history];
  for (const cut of cuts) {
    const extra = history[cut.from % Math.max(1, history.length)];
    if (extra) mixed.splice(cut.at % (mixed.length + 1), 0, nudged(extra, cut.nudge));
  }
  return mixed;
}

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

describe.each(cases)('compiled $name fold', ({ name, machine }) => {
  const program = entityPrograms.find((p) => p.name === name)!;
  const compiled = compileFold<unknown>(machine);
  // xstate itself, not the live fold (which computes through the compiled table).
  const reference = createFold(machine as never, {}, { engine: 'xstate' }) as unknown as Fold<
    Parameters<typeof toPlain>[0]
  >;

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

describe.each(cases)(
  'the $name fold (compiled table, snapshot by xstate)',
  ({ name, machine, fold }) => {
    const reference = createFold(machine as never, {}, { engine: 'xstate' }) as unknown as Fold<
      Parameters<typeof toPlain>[0]
    >;
    const live = fold as unknown as Fold<Parameters<typeof toPlain>[0]>;
    const full = (s: unknown) => {
      const snap = s as {
        value: unknown;
        context: unknown;
        status: string;
        hasTag(t: string): boolean;
      };
      return {
        value: snap.value,
        context: snap.context,
        status: snap.status,
        terminal: snap.hasTag('terminal'),
      };
    };

    test.prop([programArb, splice], { numRuns: 500 })(
      'accepts and rejects as machine.transition does, and yields the same snapshot',
      (steps, cuts) => {
        let x = reference.initial();
        let l = live.initial();
        for (const event of noisyHistory(name, steps, cuts)) {
          const xNext = reference.tryEvolve(x, event);
          const lNext = live.tryEvolve(l, event);
          expect(lNext !== undefined, `${event.type} in ${String(l.value)}`).toBe(
            xNext !== undefined,
          );
          if (!xNext || !lNext) continue;
          x = xNext;
          l = lNext;
          expect(full(l)).toEqual(full(x));
        }
      },
    );
  },
);
