import fc from 'fast-check';
import {
  RUNBOOK_OPS,
  RUNBOOK_QUERIES,
  type Runbook,
  type RunbookCondition,
  type RunbookQuery,
  type RunbookStep,
} from '../../src/events/index.js';

/**
 * Runbook definitions as the schema stores them (every default filled in), so each is a fixed
 * point of `RunbookSchema` (the codec property test checks it). Step ids are distinct and
 * templates name only the arguments, so every one is also a valid runbook (`runbookProblems`).
 */
const varArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const textArb = fc.string({ minLength: 1, maxLength: 40 });
const durationArb = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.constantFrom('ms', 's', 'm', 'h'))
  .map(([n, u]) => `${n}${u}`);

const template = (vars: readonly string[]) =>
  vars.length === 0
    ? textArb
    : fc.oneof(
        textArb,
        fc.constantFrom(...vars).map((v) => `{{${v}}}`),
      );

const queryArb = (vars: readonly string[]): fc.Arbitrary<RunbookQuery> =>
  fc.oneof(
    fc.constant({ query: 'nodes' as const }),
    fc.record(
      {
        query: fc.constantFrom(...RUNBOOK_QUERIES.filter((q) => q !== 'nodes')),
        of: template(vars),
      },
      { noNullPrototype: true },
    ),
  );

const conditionArb = (vars: readonly string[]): fc.Arbitrary<RunbookCondition> =>
  fc.oneof(
    fc.record(
      {
        node: template(vars),
        state: fc.constant<string[]>(['drained']),
        idle: fc.constant(true as const),
      },
      { requiredKeys: ['node', 'state'], noNullPrototype: true },
    ),
    fc.record(
      {
        job: template(vars),
        state: fc.constant<string[]>(['cancelled']),
        clearable: fc.constant(true as const),
      },
      { requiredKeys: ['job', 'state'], noNullPrototype: true },
    ),
  );

const stepArb = (id: string, vars: readonly string[]): fc.Arbitrary<RunbookStep> =>
  fc.oneof(
    queryArb(vars).map((q) => ({ kind: 'show' as const, id, ...q })),
    fc
      .record(
        { question: template(vars), default: fc.string({ maxLength: 20 }) },
        { requiredKeys: ['question'], noNullPrototype: true },
      )
      .map((r) => ({ kind: 'ask' as const, id, ...r })),
    fc
      .record(
        { question: template(vars), show: queryArb(vars) },
        { requiredKeys: ['question'], noNullPrototype: true },
      )
      .map((r) => ({ kind: 'confirm' as const, id, ...r })),
    fc
      .record(
        {
          op: fc.constantFrom(...RUNBOOK_OPS),
          target: template(vars),
          reason: template(vars),
          dangerous: fc.boolean(),
          preview: queryArb(vars),
          when: conditionArb(vars),
        },
        { requiredKeys: ['op', 'target', 'dangerous'], noNullPrototype: true },
      )
      .map((r) => ({ kind: 'act' as const, id, ...r })),
    fc
      .record(
        {
          until: conditionArb(vars),
          timeout: durationArb,
          every: durationArb,
          onTimeout: fc.constantFrom('abort' as const, 'continue' as const, 'ask' as const),
        },
        { noNullPrototype: true },
      )
      .map((r) => ({ kind: 'wait' as const, id, ...r })),
  );

/** A valid runbook: 0-3 arguments, 1-8 steps with distinct ids. */
export const runbookArb: fc.Arbitrary<Runbook> = fc
  .tuple(
    fc.uniqueArray(varArb, { minLength: 1, maxLength: 12 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 1, max: 8 }),
  )
  .filter(([names, nArgs, nSteps]) => names.length >= nArgs + nSteps)
  .chain(([names, nArgs, nSteps]) => {
    const args = names.slice(0, nArgs);
    const ids = names.slice(nArgs, nArgs + nSteps);
    return fc.record(
      {
        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        summary: textArb,
        args: fc.constant(args.map((name) => ({ name }))),
        steps: fc.tuple(...ids.map((id) => stepArb(id, args))),
      },
      { noNullPrototype: true },
    );
  });
