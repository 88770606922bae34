import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  decideRunbook,
  runbookFold,
  stateName,
  type RunbookCommand,
  type RunbookSnapshot,
} from '../../../src/actors/index.js';
import { RunbookSchema, type Actor, type Runbook } from '../../../src/events/index.js';
import { parseRunbook } from '../../../src/policy/runbook/index.js';
import { runbookArb } from '../../support/runbook-arbitraries.js';

const ada: Actor = { kind: 'user', id: 'ada' };

describe('runbook files (property)', () => {
  test.prop([runbookArb])(
    'every generated runbook is valid and a fixed point of the schema',
    (r) => {
      const parsed = parseRunbook(r);
      expect(parsed).toEqual({ ok: true, runbook: r });
    },
  );

  test.prop([runbookArb, fc.nat()])(
    'a template naming an unknown variable is refused at its step',
    (r, n) => {
      const i = n % r.steps.length;
      const steps = r.steps.map((s, j) =>
        j === i
          ? { kind: 'show' as const, id: s.id, query: 'job' as const, of: '{{zz_unknown}}' }
          : s,
      );
      const parsed = parseRunbook({ ...r, steps });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.issues.map((x) => x.path)).toContain(`steps[${i}].of`);
    },
  );
});

/** A random command against a run: right or wrong step, any kind. */
const commandArb = (r: Runbook) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: r.steps.length }),
      fc.boolean(),
      fc.constantFrom('succeeded', 'aborted', 'failed'),
    )
    .map(([kind, index, flag, outcome]) => {
      const id = r.steps[index]?.id ?? 'beyond';
      const at = { index, id };
      const data = [
        at,
        { ...at, value: flag, how: 'terminal' },
        { ...at, op: 'cancel', target: 'j1', ok: flag },
        { ...at, outcome: 'done' },
        { outcome, reason: 'test' },
        at,
      ][kind];
      const type = [
        'StartStep',
        'RecordAnswer',
        'RecordAction',
        'CompleteStep',
        'FinishRunbook',
        'StartStep',
      ][kind];
      return { type, data } as { type: RunbookCommand['type']; data: Record<string, unknown> };
    });

describe('the runbook run machine (property)', () => {
  test.prop([
    runbookArb.chain((r) => fc.tuple(fc.constant(r), fc.array(commandArb(r), { maxLength: 40 }))),
  ])(
    'random commands never yield an event the machine rejects; steps start in order, once each; success only after the last',
    ([r, commands]) => {
      let s: RunbookSnapshot = runbookFold.initial();
      let n = 0;
      const run = (type: string, data: unknown) => {
        n += 1;
        const d = decideRunbook(s, { type, id: `c${n}`, at: n, by: ada, data } as RunbookCommand);
        if (d.ok) for (const e of d.events) s = runbookFold.evolve(s, e); // throws if rejected
        return d;
      };
      expect(run('StartRunbook', { definition: RunbookSchema.parse(r), args: {} }).ok).toBe(true);
      const started: number[] = [];
      for (const c of commands) {
        const before = s;
        const d = run(c.type, c.data);
        if (d.ok && c.type === 'StartStep') started.push((c.data as { index: number }).index);
        if (
          d.ok &&
          c.type === 'FinishRunbook' &&
          (c.data as { outcome: string }).outcome === 'succeeded'
        )
          expect(before.context.next).toBe(r.steps.length);
        if (!d.ok) expect(s).toBe(before);
      }
      expect(started).toEqual(started.map((_, i) => i));
      expect(['running', 'succeeded', 'aborted', 'failed']).toContain(stateName(s));
    },
  );

  test.prop([runbookArb])(
    'walking every step in order ends succeeded, with each step done',
    (r) => {
      let s: RunbookSnapshot = runbookFold.initial();
      let n = 0;
      const run = (type: string, data: unknown) => {
        n += 1;
        const d = decideRunbook(s, { type, id: `c${n}`, at: n, by: ada, data } as RunbookCommand);
        expect(d.ok, JSON.stringify(d)).toBe(true);
        if (d.ok) for (const e of d.events) s = runbookFold.evolve(s, e);
      };
      run('StartRunbook', { definition: r, args: {} });
      r.steps.forEach((step, index) => {
        run('StartStep', { index, id: step.id });
        run('CompleteStep', { index, id: step.id, outcome: 'done' });
      });
      run('FinishRunbook', { outcome: 'succeeded', reason: 'done' });
      expect(stateName(s)).toBe('succeeded');
      expect(s.context.steps.every((x) => x.outcome === 'done')).toBe(true);
    },
  );
});
