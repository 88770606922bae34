import { test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { behaviours } from '../../../src/actors/index.js';
import { farmProgramArb, runFarm } from './farm-ops.js';

// When a run fails, fast-check prints its seed and path: pin them here as
// `{ seed: <n>, path: '<p>', endOnFailure: true }` while fixing, and keep a regression example.
describe('farm model with faults', () => {
  test.prop([farmProgramArb], { numRuns: 1000 })(
    'decisions always fold, attempts are fenced, nothing is cancelled or cleared while it may run',
    (program) => {
      const farm = runFarm(program);
      expect(farm.violations).toEqual([]);
      // Replaying the whole log entity by entity gives the farm's own states (nothing diverged).
      const replayed = new Map<string, unknown>();
      for (const { entity, id, event } of farm.log) {
        const key = `${entity}/${id}`;
        replayed.set(
          key,
          behaviours[entity].evolve(replayed.get(key) ?? behaviours[entity].initial(), event),
        );
      }
      for (const [entity, map] of Object.entries(farm.entities)) {
        for (const [id, s] of map) {
          const r = replayed.get(`${entity}/${id}`) as { value: unknown; context: unknown };
          expect(r.value).toEqual((s as typeof r).value);
          expect(r.context).toEqual((s as typeof r).context);
        }
      }
    },
  );
});
