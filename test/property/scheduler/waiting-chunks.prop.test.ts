import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { WaitingChunks } from '../../../src/scheduler/waiting-chunks.js';

/**
 * The scheduler's queue index keeps one waiting chunk as a number and several as a Set: after any
 * sequence of adds and deletes it must answer as the Map of Sets it replaced (membership, order of
 * jobs, each job's indices, what each add and delete reports).
 */
const opArb = fc.tuple(fc.boolean(), fc.constantFrom('a', 'b', 'c', 'd'), fc.nat({ max: 3 }));

describe('WaitingChunks', () => {
  test.prop([fc.array(opArb, { maxLength: 60 })], { numRuns: 500 })(
    'answers as a Map of Sets',
    (ops) => {
      const w = new WaitingChunks();
      const ref = new Map<string, Set<number>>();
      for (const [add, job, index] of ops) {
        const set = ref.get(job);
        if (add) {
          const fresh = !set?.has(index);
          if (!set) ref.set(job, new Set([index]));
          else set.add(index);
          expect(w.add(job, index)).toBe(fresh);
        } else {
          const had = set?.delete(index) ?? false;
          if (set?.size === 0) ref.delete(job);
          expect(w.delete(job, index)).toBe(had);
        }
        expect(w.size).toBe(ref.size);
        expect([...w.keys()]).toEqual([...ref.keys()]);
        for (const j of ['a', 'b', 'c', 'd']) {
          expect(w.has(j)).toBe(ref.has(j));
          const mine = w.get(j);
          expect(mine && [...mine].sort()).toEqual(ref.get(j) && [...ref.get(j)!].sort());
        }
        expect([...w].map(([j, ix]) => `${j}:${[...ix].sort().join(',')}`)).toEqual(
          [...ref].map(([j, ix]) => `${j}:${[...ix].sort().join(',')}`),
        );
      }
    },
  );
});
