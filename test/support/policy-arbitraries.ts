import fc from 'fast-check';
import type { NodeState, ResourceVector, Task } from '../../src/policy/index.js';

/** Builders and fast-check arbitraries for the scheduling policy's inputs. */

export const vec = (cpus: number, memMb: number, gpus = 0): ResourceVector => ({
  cpus,
  memMb,
  gpus,
});

/** A waiting task with sensible defaults; `id` is `<jobId>:<index>`. */
export function task(p: Partial<Task> & { jobId?: string; index?: number } = {}): Task {
  const jobId = p.jobId ?? 'J';
  const index = p.index ?? 0;
  return {
    id: `${jobId}:${index}`,
    jobId,
    index,
    user: 'ann',
    pool: 'default',
    priority: 0,
    globalFront: false,
    submittedAt: 1_000,
    order: 1,
    request: vec(1, 1024),
    running: false,
    labels: {},
    excludeNodes: [],
    avoidNodes: [],
    ...p,
  };
}

/** A ready, empty node with sensible defaults. */
export function node(p: Partial<NodeState> & { id: string }): NodeState {
  return { state: 'ready', capacity: vec(8, 32_768, 0), used: vec(0, 0, 0), labels: {}, ...p };
}

/** `n` chunks of one job, indices 0..n-1. */
export function chunks(n: number, p: Partial<Task> & { jobId: string }): Task[] {
  return Array.from({ length: n }, (_, index) => task({ ...p, index }));
}

/** True about once in `n + 1`. */
const rarely = (n: number) => fc.nat(n).map((x) => x === 0);

const userArb = fc.constantFrom('ann', 'bob', 'cy', 'dee', '__proto__', 'toString');
const requestArb = fc.record({
  cpus: fc.constantFrom(0.5, 1, 2, 4, 8),
  memMb: fc.constantFrom(512, 1024, 4096, 16_384),
  gpus: fc.constantFrom(0, 0, 0, 1, 2),
});
const labelsArb = fc.constantFrom<Record<string, string>>({}, {}, { zone: 'a' }, { gpu: 'yes' });
const nodeIdArb = fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5', 'n6');

/** Tasks of a few users and jobs with unique ids; some running, in backoff, constrained. */
export const tasksArb: fc.Arbitrary<Task[]> = fc
  .array(
    fc.record({
      user: userArb,
      job: fc.integer({ min: 0, max: 7 }),
      priority: fc.constantFrom(0, 0, 1, 5),
      globalFront: rarely(20),
      submittedAt: fc.integer({ min: 0, max: 5 }),
      request: requestArb,
      running: rarely(4),
      partial: rarely(4),
      labels: labelsArb,
      excludeNodes: fc.uniqueArray(nodeIdArb, { maxLength: 2 }),
      avoidNodes: fc.uniqueArray(nodeIdArb, { maxLength: 2 }),
      notBefore: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows.map((r, index) => {
      const { job, notBefore, partial, ...rest } = r;
      return task({
        ...rest,
        jobId: `${r.user}-j${job}`,
        index,
        order: job,
        ...(notBefore === undefined ? {} : { notBefore }),
        ...(partial ? { partial } : {}),
      });
    }),
  );

const stateArb = fc.constantFrom<NodeState['state']>(
  'ready',
  'ready',
  'ready',
  'registering',
  'draining',
  'drained',
  'cordoned',
  'lost',
  'offline',
);

/** Up to six nodes n1..n6 of mixed sizes, states and labels, some partly used. */
export const nodesArb: fc.Arbitrary<NodeState[]> = fc
  .uniqueArray(
    fc.record({
      id: nodeIdArb,
      state: stateArb,
      capacity: fc.record({
        cpus: fc.constantFrom(2, 4, 8, 16),
        memMb: fc.constantFrom(4096, 16_384, 65_536),
        gpus: fc.constantFrom(0, 0, 2, 4),
      }),
      usedShare: fc.constantFrom(0, 0, 0.25, 0.5, 1),
      labels: labelsArb,
    }),
    { selector: (n) => n.id, maxLength: 6 },
  )
  .map((ns) =>
    ns.map(({ usedShare, ...n }) =>
      node({
        ...n,
        used: {
          cpus: n.capacity.cpus * usedShare,
          memMb: n.capacity.memMb * usedShare,
          gpus: Math.floor(n.capacity.gpus * usedShare),
        },
      }),
    ),
  );

/** A deterministic pseudo-random stream (mulberry32) for synthetic benchmark workloads. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A farm-sized workload: `jobs` jobs of `users` users sharing `tasks` chunks, and `nodes` nodes. */
export function syntheticFarm(opts: {
  tasks: number;
  nodes: number;
  users: number;
  seed?: number;
}) {
  const rnd = prng(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodes: NodeState[] = Array.from({ length: opts.nodes }, (_, i) =>
    node({
      id: `node-${String(i).padStart(4, '0')}`,
      capacity: pick([vec(32, 131_072), vec(64, 262_144), vec(16, 65_536, 4)]),
      labels: i % 10 === 0 ? { zone: 'b' } : { zone: 'a' },
    }),
  );
  const tasks: Task[] = [];
  for (let job = 0; tasks.length < opts.tasks; job++) {
    const user = `u${Math.floor(rnd() * opts.users)}`;
    const request = pick([
      vec(1, 2048),
      vec(2, 4096),
      vec(4, 8192),
      vec(1, 1024, 1),
      vec(8, 32_768),
    ]);
    const labels: Record<string, string> = rnd() < 0.1 ? { zone: 'b' } : {};
    const n = Math.min(opts.tasks - tasks.length, 1 + Math.floor(rnd() * 400));
    for (let index = 0; index < n; index++) {
      tasks.push(
        task({ jobId: `job${job}`, index, user, order: job, submittedAt: job, request, labels }),
      );
    }
  }
  return { nodes, tasks };
}
