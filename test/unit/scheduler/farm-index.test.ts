import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChunkSnapshot } from '../../../src/actors/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';

/**
 * The index keeps running sums (per node, per job) updated in place, so that a placement round
 * and the watchdog's per-second pass do not walk 100,000 live chunks. Whatever order states
 * arrive in, the sums must equal what a recount of the live chunks gives.
 */
const STATES = [
  'pending',
  'assigned',
  'running',
  'cancelling',
  'succeeded',
  'failed',
  'retry_wait',
];

const update = fc.record({
  job: fc.constantFrom('j1', 'j2', 'j3'),
  index: fc.integer({ min: 0, max: 3 }),
  state: fc.constantFrom(...STATES),
  node: fc.constantFrom('n1', 'n2'),
  cpus: fc.integer({ min: 1, max: 8 }),
  memMb: fc.integer({ min: 1, max: 4096 }),
  gpus: fc.integer({ min: 0, max: 2 }),
  attempt: fc.integer({ min: 1, max: 3 }),
});

type Update = typeof update extends fc.Arbitrary<infer T> ? T : never;

const snapshot = (u: Update) =>
  ({
    value: u.state,
    context: {
      jobId: u.job,
      index: u.index,
      attempt: u.attempt,
      node: u.node,
      worker: `${u.job}:${u.index}:${u.attempt}`,
      attempts: [],
      request: { cpus: u.cpus, memMb: u.memMb, gpus: u.gpus },
    },
  }) as unknown as ChunkSnapshot;

describe('FarmIndex running sums', () => {
  it('per job and per node equal a recount of the live chunks, in any order of updates', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 60 }), (updates) => {
        const index = new FarmIndex(86_400);
        for (const u of updates) index.chunk(`${u.job}:${u.index}`, snapshot(u));

        const byJob = new Map<string, { cpus: number; memMb: number; gpus: number; n: number }>();
        const byNode = new Map<string, { cpus: number; memMb: number; gpus: number }>();
        for (const [id, live] of index.live) {
          expect(['assigned', 'running', 'cancelling']).toContain(live.state);
          expect(index.liveEntriesOn(live.node).get(id)).toBe(live);
          const j = byJob.get(live.jobId) ?? { cpus: 0, memMb: 0, gpus: 0, n: 0 };
          const n = byNode.get(live.node) ?? { cpus: 0, memMb: 0, gpus: 0 };
          for (const sum of [j, n]) {
            sum.cpus += live.request.cpus;
            sum.memMb += live.request.memMb;
            sum.gpus += live.request.gpus;
          }
          j.n++;
          byJob.set(live.jobId, j);
          byNode.set(live.node, n);
        }
        expect(new Set(index.liveByJob.keys())).toEqual(new Set(byJob.keys()));
        for (const [job, { held, chunks }] of index.liveByJob) {
          const want = byJob.get(job)!;
          expect({ ...held, chunks }).toEqual({
            cpus: want.cpus,
            memMb: want.memMb,
            gpus: want.gpus,
            chunks: want.n,
          });
        }
        for (const node of ['n1', 'n2']) {
          expect(index.used(node)).toEqual(byNode.get(node) ?? { cpus: 0, memMb: 0, gpus: 0 });
          expect(index.liveOn(node).sort()).toEqual(
            [...index.live]
              .filter(([, l]) => l.node === node)
              .map(([id]) => id)
              .sort(),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** What a placement round reads of the index: waiting chunks, live chunks' nodes and requests. */
function roundView(index: FarmIndex): string {
  const waiting = [...index.waiting].map(([job, set]) => `${job}:${[...set].sort().join(',')}`);
  const live = [...index.live].map(([id, l]) => `${id}@${l.node}/${JSON.stringify(l.request)}`);
  return JSON.stringify([waiting.sort(), live.sort()]);
}

describe('FarmIndex generation', () => {
  it('changes whenever what a round reads changes, and only then for chunk updates', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 60 }), (updates) => {
        const index = new FarmIndex(86_400);
        for (const u of updates) {
          const before = roundView(index);
          const generation = index.generation;
          index.chunk(`${u.job}:${u.index}`, snapshot(u));
          expect(index.generation !== generation).toBe(roundView(index) !== before);
        }
      }),
      { numRuns: 300 },
    );
  });
});
