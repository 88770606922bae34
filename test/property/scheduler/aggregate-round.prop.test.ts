import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../../../src/actors/index.js';
import { defaultFairShareConfig } from '../../../src/policy/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { planRound, type RoundInput } from '../../../src/scheduler/placement-round.js';
import type { Peek } from '../../../src/scheduler/rules.js';

/**
 * A job's fresh waiting chunks beyond what a round could place are one aggregate task
 * (`freshTasks`). The round must decide exactly what it decides with one task per chunk: the same
 * placements, and for every waiting job the same reasons (their messages count who is ahead), the
 * same rank and the same users ahead. Big jobs, retried chunks among fresh ones, chunks in flight,
 * held jobs, nodes partly used, several users and priorities, and a cap on placements.
 */

const users = ['ann', 'bob', 'cy', 'dee'];

const worldArb = fc.record({
  jobs: fc.array(
    fc.record({
      user: fc.constantFrom(...users),
      cpus: fc.constantFrom(1, 2, 4),
      memMb: fc.constantFrom(0, 100, 3_000),
      chunks: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 20, max: 200 })),
      priority: fc.constantFrom(0, 0, 5),
      held: fc.nat(8).map((x) => x === 0),
      // Chunk indices (mod chunks) that were tried before (waiting again after a retry verdict).
      retried: fc.array(fc.nat(300), { maxLength: 3 }),
      inFlight: fc.array(fc.nat(300), { maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  nodes: fc.array(fc.record({ cpus: fc.constantFrom(2, 4, 8, 16), usedCpus: fc.nat(6) }), {
    minLength: 0,
    maxLength: 5,
  }),
  maxPlacements: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
});

type World = Pick<WorldValue, 'jobs' | 'nodes'>;
type WorldValue = typeof worldArb extends fc.Arbitrary<infer W> ? W : never;

function world({ jobs: rows, nodes: sizes }: World) {
  const jobs = new Map<string, JobSnapshot>();
  const chunks = new Map<string, ChunkSnapshot>();
  const nodeMap = new Map<string, NodeSnapshot>();
  const index = new FarmIndex(3600);
  const inFlight = new Set<string>();
  const peek = {
    job: (id: string) => jobs.get(id),
    chunk: (id: string) => chunks.get(id),
    node: (id: string) => nodeMap.get(id),
    worker: () => undefined,
  } as unknown as Peek;
  sizes.forEach(({ cpus }, n) => {
    const snap = {
      value: 'ready',
      context: { cpus, memMb: 64_000, gpus: 0, labels: {} },
    } as unknown as NodeSnapshot;
    nodeMap.set(`n${n}`, snap);
    index.node(`n${n}`, snap);
  });
  rows.forEach((r, n) => {
    const id = `job${n}`;
    const spec = {
      ...{ user: r.user, pool: 'default', after: [], labels: {}, excludeNodes: [] },
      ...{ chunks: r.chunks, cpus: r.cpus, memMb: r.memMb, gpus: 0 },
    };
    const job = {
      value: r.held ? 'held' : 'queued',
      context: { spec, priority: r.priority, createdAt: 10 * (n % 3) },
    } as unknown as JobSnapshot;
    jobs.set(id, job);
    index.job(id, job, n + 1);
    const retried = new Set(r.retried.map((x) => x % r.chunks));
    for (let i = 0; i < r.chunks; i++) {
      const tried = retried.has(i);
      const chunk = {
        value: tried ? 'retry_wait' : 'pending',
        context: tried
          ? {
              ...{ jobId: id, index: i, attempt: 1 },
              attempts: [{ attempt: 1, node: 'gone', worker: 'w', cause: 'ExitCode' }],
              retry: { attempt: 1, notBefore: 0 },
            }
          : { jobId: id, index: i, attempt: 0, attempts: [] },
      } as unknown as ChunkSnapshot;
      chunks.set(`${id}:${i}`, chunk);
      index.chunk(`${id}:${i}`, chunk);
    }
    for (const x of r.inFlight as number[]) inFlight.add(`${id}:${x % r.chunks}`);
  });
  // Some capacity already held on each node (a running job of another user).
  sizes.forEach(({ cpus, usedCpus }, n) => {
    const held = Math.min(cpus, usedCpus);
    if (held === 0) return;
    const jobId = `run${n}`;
    const spec = {
      ...{ user: 'runner', pool: 'default', after: [], labels: {}, excludeNodes: [] },
      ...{ chunks: 1, cpus: held, memMb: 0, gpus: 0 },
    };
    const job = { value: 'running', context: { spec, priority: 0 } } as unknown as JobSnapshot;
    jobs.set(jobId, job);
    index.job(jobId, job, 1_000 + n);
    const chunk = {
      value: 'running',
      context: {
        ...{ jobId, index: 0, attempt: 1, attempts: [], node: `n${n}` },
        request: { cpus: held, memMb: 0, gpus: 0 },
      },
    } as unknown as ChunkSnapshot;
    chunks.set(`${jobId}:0`, chunk);
    index.chunk(`${jobId}:0`, chunk);
  });
  return { peek, index, inFlight, jobs };
}

describe('aggregate tasks for big jobs', () => {
  test.prop([worldArb], { numRuns: 300 })(
    'a round with aggregates places and notes exactly as one task per chunk',
    (w) => {
      const { peek, index, inFlight, jobs } = world(w);
      const base: RoundInput = {
        ...{ peek, index, now: 1_000, config: defaultFairShareConfig },
        ...{ reserved: new Map(), inFlight, reasons: true },
        ...(w.maxPlacements !== undefined && { maxPlacements: w.maxPlacements }),
      };
      const plain = planRound({ ...base, aggregateAbove: Infinity });
      const grouped = planRound({ ...base, aggregateAbove: 0 });
      expect(grouped.placements.map((p) => [p.task.id, p.node, p.rank, p.dru])).toEqual(
        plain.placements.map((p) => [p.task.id, p.node, p.rank, p.dru]),
      );
      const notes = (out: typeof plain) =>
        new Map(
          [...out.pending].map(([jobId, note]) => [
            jobId,
            {
              reasons: note.reasons,
              rank: note.rank,
              ahead: out.ahead(note, jobs.get(jobId)!.context.spec!.user),
            },
          ]),
        );
      expect(notes(grouped)).toEqual(notes(plain));
      expect(grouped.queueLength).toBeLessThanOrEqual(plain.queueLength);
    },
  );

  test('a job of 100,000 fresh chunks gives a round the few it can place and one aggregate', () => {
    const { peek, index, inFlight } = world({
      jobs: [
        {
          ...{ user: 'ann', cpus: 1, memMb: 100, chunks: 100_000, priority: 0 },
          ...{ held: false, retried: [], inFlight: [] },
        },
      ],
      nodes: [
        { cpus: 4, usedCpus: 0 },
        { cpus: 4, usedCpus: 2 },
      ],
    });
    const out = planRound({
      ...{ peek, index, now: 1_000, config: defaultFairShareConfig },
      ...{ reserved: new Map(), inFlight, reasons: true },
    });
    expect(out.placements).toHaveLength(6);
    expect(out.queueLength).toBe(9); // 6 placed, 1 waiting with the reasons, 1 aggregate, 1 running
    expect(out.pending.get('job0')?.rank).toBe(7); // after the running group and the 6 placed
  });
});
