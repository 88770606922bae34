import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { jobFold } from '../../../src/actors/index.js';
import { internData, internSpec } from '../../../src/actors/intern.js';
import type { DroverEvent, EventOf } from '../../../src/events/index.js';
import { eventArb, jobSpecArb } from '../../support/arbitraries.js';
import { entityPrograms, programArb, runProgram } from './commands.js';

/**
 * Interned values (issue 22: a queued job's strings, lists and reasons shared between jobs) must
 * be indistinguishable from the originals to every reader: `toStrictEqual` (undefined fields,
 * -0, NaN, key sets), and frozen when shared, so no reader can change another job's copy.
 */
const exactLeaf = fc.oneof(
  fc.constantFrom(undefined, null, -0, 0, NaN, Infinity, -Infinity, true, false),
  fc.constantFrom('', '\u0000u', '\u0000n0', '\u0000s', 'Resources', '__proto__'),
  fc.integer(),
  fc.string({ maxLength: 8 }),
);
const exactData = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, exactLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'code', '__proto__', 'x'), tie('value'), {
    maxKeys: 4,
    noNullPrototype: true,
  }),
})).value;

describe('interning', () => {
  test.prop([jobSpecArb], { numRuns: 300 })('a spec interns to a spec equal to it', (spec) => {
    const copy = structuredClone(spec);
    const interned = internSpec(spec);
    expect(interned).toStrictEqual(copy);
    expect(spec).toStrictEqual(copy); // the original is left as it was
    // A second job with an equal spec (another decode) shares its strings, lists and records
    // (short ones: a long command or environment stays the job's own).
    const again = internSpec(structuredClone(spec));
    const short = (text: string) => text.length < 400;
    if (short(spec.command.join('\u0000'))) expect(again.command).toBe(interned.command);
    if (short(JSON.stringify(spec.env))) expect(again.env).toBe(interned.env);
    if (short(JSON.stringify(spec.labels))) expect(again.labels).toBe(interned.labels);
    expect(again.user).toBe(interned.user);
  });

  test.prop([exactData, exactData], { numRuns: 500 })(
    'data interns to data strictly equal to it, shared only with strictly equal data',
    (a, b) => {
      const ia = internData(structuredClone(a));
      const ib = internData(structuredClone(b));
      expect(ia).toStrictEqual(a);
      expect(ib).toStrictEqual(b);
      let equal = true;
      try {
        expect(a).toStrictEqual(b);
      } catch {
        equal = false;
      }
      if (ia === ib) expect(equal).toBe(true);
    },
  );

  it('shares one frozen copy of equal data', () => {
    const reasons = () => [{ code: 'Resources', message: 'no node', details: { cpus: 1 } }];
    const a = internData(reasons());
    expect(internData(reasons())).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a[0]) && Object.isFrozen(a[0]!.details)).toBe(
      true,
    );
    expect(() => (a as { code: string }[]).push({ code: 'x' })).toThrow(TypeError);
  });
});

describe('the job fold with interned specs and reasons', () => {
  const program = entityPrograms.find((p) => p.name === 'job')!;

  test.prop([programArb], { numRuns: 200 })(
    'holds exactly the submitted spec and the last noted reasons',
    (steps) => {
      const history: readonly DroverEvent[] = runProgram(program, steps);
      let s = jobFold.initial();
      let submitted: EventOf<'job.submitted'>['data'] | undefined;
      let noted: Pick<EventOf<'job.pending_noted'>['data'], 'reasons'> | undefined;
      for (const event of history) {
        s = jobFold.evolve(s, event);
        if (event.type === 'job.submitted' && !submitted) submitted = structuredClone(event.data);
        if (event.type === 'job.pending_noted')
          noted = { reasons: structuredClone(event.data.reasons) };
        expect(s.context.spec).toStrictEqual(submitted);
        expect(s.context.pending).toStrictEqual(noted);
      }
    },
  );

  test.prop([eventArb('job.submitted'), eventArb('job.pending_noted')], { numRuns: 200 })(
    'of any submission and note',
    (submit, note) => {
      const s = jobFold.evolve(jobFold.evolve(jobFold.initial(), submit), note);
      const kept = { reasons: note.data.reasons };
      expect(s.context.spec).toStrictEqual(submit.data);
      expect(s.context.pending ?? kept).toStrictEqual(kept);
    },
  );

  test.prop([eventArb('job.submitted'), eventArb('job.pending_noted'), fc.nat(), fc.nat()], {
    numRuns: 100,
  })(
    'shares one pending value between jobs noted alike, whatever their rank',
    (submit, note, a, b) => {
      // Reasons as a round writes them (a large list is kept as it is, unshared: see internData).
      const reasons = [
        {
          code: 'Resources' as const,
          message: 'no node has 1 cpus free',
          unblock: 'capacity frees up',
        },
      ];
      const noted = (rank: number) => {
        const at = { ...note, data: { ...note.data, reasons, rank, queueLength: rank + 1 } };
        return jobFold.evolve(jobFold.evolve(jobFold.initial(), submit), structuredClone(at));
      };
      expect(noted(a).context.pending).toBe(noted(b).context.pending);
    },
  );
});
