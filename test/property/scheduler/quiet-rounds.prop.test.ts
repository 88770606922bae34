import { fc, test } from '@fast-check/vitest';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../../../src/actors/index.js';
import { defaultFairShareConfig } from '../../../src/policy/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { PlacementLoop, QUIET_REFRESH_MS } from '../../../src/scheduler/placement-loop.service.js';
import { planRound } from '../../../src/scheduler/placement-round.js';
import type { Peek, RuleContext } from '../../../src/scheduler/rules.js';

/**
 * The tick skips a round while the queue is quiet (issue 22: a round over 100,000 waiting jobs was
 * ~30 MB of garbage a second). A skipped round must be one that would have planned the same:
 * random farms (nodes too small or big enough, chunks in retry backoff, users with usage) live
 * through random ticks and changes, and at every skipped tick a real round, planned right there,
 * places nothing, as the last planned round did.
 */
const jobOf = (user: string, cpus: number) =>
  ({
    value: 'queued',
    context: {
      spec: {
        user,
        pool: 'default',
        after: [],
        labels: {},
        excludeNodes: [],
        cpus,
        memMb: 100,
        gpus: 0,
      },
      priority: 0,
      createdAt: 0,
    },
  }) as unknown as JobSnapshot;
const chunkOf = (jobId: string, notBefore?: number) =>
  ({
    value: notBefore === undefined ? 'pending' : 'retry_wait',
    context: {
      jobId,
      index: 0,
      attempt: notBefore === undefined ? 0 : 1,
      attempts: [],
      ...(notBefore !== undefined && {
        retry: { attempt: 1, notBefore, request: { cpus: 1, memMb: 100, gpus: 0 } },
      }),
    },
  }) as unknown as ChunkSnapshot;
const nodeOf = (cpus: number) =>
  ({
    value: 'ready',
    context: { cpus, memMb: 10_000, gpus: 0, labels: {} },
  }) as unknown as NodeSnapshot;

const T0 = 100_000;

/** A farm the test edits by hand, a loop over it, and the clock. */
function world() {
  const jobs = new Map<string, JobSnapshot>();
  const chunks = new Map<string, ChunkSnapshot>();
  const nodes = new Map<string, NodeSnapshot>();
  const index = new FarmIndex(3600);
  const peek = {
    job: (id: string) => jobs.get(id),
    chunk: (id: string) => chunks.get(id),
    node: (id: string) => nodes.get(id),
    worker: () => undefined,
  } as unknown as Peek;
  // Not 0: the loop's first round with reasons is due a second after time 0.
  let now = T0;
  let planned = 0;
  const loop = new PlacementLoop({
    ...{ peek, index, config: defaultFairShareConfig, clock: () => now, canWrite: () => true },
    context: () => ({ peek, now }) as unknown as RuleContext,
    run: () => void planned++,
    // The placement is folded at once: the chunk runs on its node (the index sees it).
    assign: (p) => {
      const c = chunks.get(p.task.id)!;
      const running = {
        value: 'running',
        context: { ...c.context, node: p.node, request: p.task.request },
      } as unknown as ChunkSnapshot;
      chunks.set(p.task.id, running);
      index.chunk(p.task.id, running);
      return undefined;
    },
    logger: pino({ level: 'silent' }),
    turnBudgetMs: Infinity, // each round ends within round()
  });
  return {
    loop,
    index,
    planned: () => planned,
    at: (t: number) => void (now = t),
    now: () => now,
    addJob(id: string, user: string, cpus: number, notBefore?: number) {
      jobs.set(id, jobOf(user, cpus));
      index.job(id, jobs.get(id)!, jobs.size);
      chunks.set(`${id}:0`, chunkOf(id, notBefore));
      index.chunk(`${id}:0`, chunks.get(`${id}:0`)!);
    },
    addNode(id: string, cpus: number) {
      nodes.set(id, nodeOf(cpus));
      index.node(id, nodes.get(id)!);
    },
    /** What a round planned now would place. */
    wouldPlace: () =>
      planRound({
        peek,
        index,
        now,
        config: defaultFairShareConfig,
        reserved: loop.reserved,
        inFlight: loop.inFlight,
        reasons: true,
      }).placements.length,
  };
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 1, max: 4_000 }) }),
  fc.record({
    kind: fc.constant('job' as const),
    user: fc.constantFrom('ann', 'bob', 'cy'),
    cpus: fc.integer({ min: 1, max: 8 }),
    backoff: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('node' as const), cpus: fc.integer({ min: 1, max: 8 }) }),
);

describe('quiet rounds', () => {
  test.prop([fc.array(op, { maxLength: 40 })], { numRuns: 300 })(
    'a skipped round would have placed nothing, as the last planned one',
    (ops) => {
      const w = world();
      let jobs = 0;
      let nodes = 0;
      for (const o of ops) {
        if (o.kind === 'job')
          w.addJob(`j${jobs++}`, o.user, o.cpus, o.backoff && w.now() + o.backoff);
        else if (o.kind === 'node') w.addNode(`n${nodes++}`, o.cpus);
        else {
          w.at(w.now() + o.dt);
          const skippedBefore = w.loop.skipped;
          w.loop.tick(w.now());
          if (w.loop.skipped > skippedBefore) expect(w.wouldPlace()).toBe(0);
          else w.loop.round();
        }
      }
    },
  );

  it('skips ticks on a quiet queue, and plans again when a backoff expires or a node comes', () => {
    const w = world();
    w.addNode('n1', 1);
    w.addJob('big', 'ann', 4); // fits nowhere
    w.addJob('later', 'bob', 1, T0 + 2_500); // fits, in retry backoff until 2,500
    w.loop.tick(T0 + 0);
    w.loop.round();
    expect(w.planned()).toBe(1);
    w.at(T0 + 1_000);
    w.loop.tick(T0 + 1_000);
    w.loop.round();
    w.at(T0 + 2_000);
    w.loop.tick(T0 + 2_000);
    w.loop.round();
    expect([w.loop.skipped, w.planned()]).toEqual([2, 1]);
    w.at(T0 + 3_000); // the backoff expired: a round places it
    w.loop.tick(T0 + 3_000);
    w.loop.round();
    expect(w.planned()).toBe(2);
    expect(w.wouldPlace()).toBe(0);
    w.at(T0 + 4_000); // a round placed: the next tick plans again (the index moved)
    w.loop.tick(T0 + 4_000);
    w.loop.round();
    w.at(T0 + 5_000);
    w.loop.tick(T0 + 5_000);
    w.loop.round();
    expect(w.planned()).toBe(3);
    expect(w.loop.skipped).toBe(3);
    w.addNode('n2', 8); // something a round could see: planned at the next tick
    w.at(T0 + 6_000);
    w.loop.tick(T0 + 6_000);
    w.loop.round();
    expect(w.planned()).toBe(4);
    expect(w.wouldPlace()).toBe(0);
  });

  it('plans a quiet queue again after the quiet refresh', () => {
    const w = world();
    w.addJob('big', 'ann', 4);
    w.loop.tick(T0 + 0);
    w.loop.round();
    w.at(T0 + QUIET_REFRESH_MS - 1);
    w.loop.tick(w.now());
    expect(w.loop.skipped).toBe(1);
    w.at(T0 + QUIET_REFRESH_MS);
    w.loop.tick(w.now());
    w.loop.round();
    expect([w.loop.skipped, w.planned()]).toEqual([1, 2]);
  });
});
