import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  alertFold,
  calendarFold,
  runbookFold,
  sessionFold,
  runFold,
  workflowFold,
  chunkFold,
  jobFold,
  machineDescriptions,
  nodeFold,
  promiseFold,
  reservationFold,
  policyFold,
  stateName,
  statesOf,
  transitionRows,
  transitionTables,
  workerFold,
} from '../../../src/actors/index.js';
import type { Fold } from '../../../src/actors/index.js';
import { eventTypesOf } from '../../../src/events/index.js';
import type { Entity } from '../../../src/events/index.js';
import {
  alertVariants,
  calendarVariants,
  chunkVariants,
  explore,
  jobVariants,
  nodeVariants,
  promiseVariants,
  reservationVariants,
  runbookVariants,
  sessionVariants,
  policyVariants,
  runVariants,
  workerVariants,
  workflowVariants,
} from './probes.js';
import type { Variants } from './probes.js';

interface Probe {
  readonly fold: Fold<never>;
  readonly variants: Variants<never>;
}
const probes: Record<Entity, Probe> = {
  job: { fold: jobFold as Fold<never>, variants: jobVariants as Variants<never> },
  chunk: { fold: chunkFold as Fold<never>, variants: chunkVariants as Variants<never> },
  worker: { fold: workerFold as Fold<never>, variants: workerVariants as Variants<never> },
  node: { fold: nodeFold as Fold<never>, variants: nodeVariants as Variants<never> },
  calendar: { fold: calendarFold as Fold<never>, variants: calendarVariants as Variants<never> },
  reservation: {
    fold: reservationFold as Fold<never>,
    variants: reservationVariants as Variants<never>,
  },
  alert: { fold: alertFold as Fold<never>, variants: alertVariants as Variants<never> },
  runbook: { fold: runbookFold as Fold<never>, variants: runbookVariants as Variants<never> },
  session: { fold: sessionFold as Fold<never>, variants: sessionVariants as Variants<never> },
  policy: { fold: policyFold as Fold<never>, variants: policyVariants as Variants<never> },
  workflow: { fold: workflowFold as Fold<never>, variants: workflowVariants as Variants<never> },
  run: { fold: runFold as Fold<never>, variants: runVariants as Variants<never> },
  promise: { fold: promiseFold as Fold<never>, variants: promiseVariants as Variants<never> },
};

describe('docs/transitions', () => {
  it.each(Object.entries(transitionTables()))('%s.md is up to date', (entity, markdown) => {
    const path = new URL(`../../../docs/transitions/${entity}.md`, import.meta.url);
    let onDisk = '';
    try {
      onDisk = readFileSync(path, 'utf8');
    } catch {
      // missing: reported by the comparison below
    }
    expect(
      onDisk === markdown,
      `docs/transitions/${entity}.md is stale: run npm run gen:tables`,
    ).toBe(true);
  });
});

describe.each(machineDescriptions.map((d) => [d.entity, d] as const))(
  '%s machine as tabled',
  (entity, description) => {
    const { fold, variants } = probes[entity];
    const types = eventTypesOf(entity);
    const reached = explore(fold, types, variants);

    it('reaches every state', () => {
      expect([...reached.keys()].sort()).toEqual(statesOf(description.machine).sort());
    });

    it.each(statesOf(description.machine))(
      'from %s, every event is accepted or rejected as the table says',
      (state) => {
        const snapshots = reached.get(state) ?? [];
        for (const row of transitionRows(description.machine, entity).filter(
          (r) => r.state === state,
        )) {
          const outcomes = snapshots.flatMap((s) =>
            variants(row.event as never, (s as { context: never }).context, state).map((e) =>
              fold.tryEvolve(s, e),
            ),
          );
          const targets = new Set(
            outcomes.flatMap((next) => (next === undefined ? [] : [stateName(next as never)])),
          );
          const where = `${entity} ${state} + ${row.event}`;
          if (!row.transitions.length) {
            expect(targets.size, `${where}: tabled rejected, but accepted`).toBe(0);
            continue;
          }
          for (const { target } of row.transitions)
            expect(targets.has(target), `${where}: never reached ${target}`).toBe(true);
          expect(
            [...targets].every((t) => row.transitions.some((c) => c.target === t)),
            `${where}: untabled target`,
          ).toBe(true);
          if (row.transitions.every((c) => c.guard !== undefined)) {
            expect(outcomes.includes(undefined), `${where}: guard never refuses anything`).toBe(
              true,
            );
          }
        }
      },
    );
  },
);
