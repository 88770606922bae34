import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../../../src/actors/index.js';
import {
  compareWithinUser,
  defaultFairShareConfig,
  queueOrder,
  runSteps,
  sortSteps,
  type Task,
} from '../../../src/policy/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { planRound, planRoundSteps } from '../../../src/scheduler/placement-round.js';
import type { Peek } from '../../../src/scheduler/rules.js';
import { task } from '../../support/policy-arbitraries.js';

/**
 * Long passes as steps (issue 23): a round spread over turns of the event loop must decide as
 * one round does. The sort that replaces `Array.prototype.sort` in the queue gives its exact
 * order; a round run back to back is `planRound`; and whatever the farm does between a round's
 * steps (chunks end, go back to wait, jobs come and are cancelled), the round never books a node
 * past the room its first step saw, nor places a chunk twice.
 */
describe('sortSteps', () => {
  test.prop([fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5_000 }), fc.boolean()], {
    numRuns: 60,
  })('orders as the stable Array.prototype.sort, ties kept in input order', (keys, reverse) => {
    const items = keys.map((key, at) => ({ key, at }));
    const cmp = (a: { key: number }, b: { key: number }) =>
      reverse ? b.key - a.key : a.key - b.key;
    const expected = [...items].sort(cmp);
    runSteps(sortSteps(items, cmp));
    expect(items).toEqual(expected);
  });
});

describe('queueOrder over long user lists', () => {
  test.prop(
    [
      fc.integer({ min: 1_100, max: 3_000 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1_000 }),
    ],
    { numRuns: 20 },
  )("keeps each user's tasks in the user's own order", (n, users, seed) => {
    const tasks: Task[] = Array.from({ length: n }, (_, i) => {
      const r = (i * 7919 + seed * 104_729) % 1_000;
      return task({
        jobId: `j${r % 97}`,
        index: i,
        user: `u${i % users}`,
        priority: r % 3,
        submittedAt: r % 50,
        order: r,
      });
    });
    const ranked = queueOrder(tasks, {
      capacity: { cpus: 64, memMb: 262_144, gpus: 8 },
      history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
      config: defaultFairShareConfig,
    });
    expect(ranked).toHaveLength(n);
    for (let u = 0; u < users; u++) {
      const mine = tasks.filter((t) => t.user === `u${u}`).sort(compareWithinUser);
      expect(ranked.filter((r) => r.task.user === `u${u}`).map((r) => r.task)).toEqual(mine);
    }
  });
});

const T0 = 100_000;
const spec = (user: string, cpus: number) => ({
  user,
  pool: 'default',
  after: [],
  labels: {},
  excludeNodes: [],
  cpus,
  memMb: 100,
  gpus: 0,
  chunks: 1,
});
const jobOf = (user: string, cpus: number, state = 'queued') =>
  ({
    value: state,
    context: { spec: spec(user, cpus), priority: 0, createdAt: 0, chunks: { total: 1 } },
  }) as unknown as JobSnapshot;
const chunkOf = (jobId: string, state = 'pending', node?: string, cpus = 1) =>
  ({
    value: state,
    context: {
      jobId,
      index: 0,
      attempt: node ? 1 : 0,
      attempts: [],
      ...(node && { node, request: { cpus, memMb: 100, gpus: 0 } }),
    },
  }) as unknown as ChunkSnapshot;
const nodeOf = (cpus: number) =>
  ({ value: 'ready', context: { cpus, memMb: 100_000, gpus: 0, labels: {} } }) as NodeSnapshot;

/** A farm edited by hand: jobs of one chunk each, some running, the rest waiting. */
function world(nodeCpus: readonly number[], jobs: readonly { cpus: number; on?: number }[]) {
  const jobSnaps = new Map<string, JobSnapshot>();
  const chunks = new Map<string, ChunkSnapshot>();
  const nodes = new Map<string, NodeSnapshot>();
  const index = new FarmIndex(3600);
  const peek = {
    job: (id: string) => jobSnaps.get(id),
    chunk: (id: string) => chunks.get(id),
    node: (id: string) => nodes.get(id),
    worker: () => undefined,
  } as unknown as Peek;
  nodeCpus.forEach((cpus, i) => {
    nodes.set(`n${i}`, nodeOf(cpus));
    index.node(`n${i}`, nodes.get(`n${i}`)!);
  });
  let seq = 0;
  const setChunk = (id: string, c: ChunkSnapshot) => {
    chunks.set(id, c);
    index.chunk(id, c);
  };
  const add = (cpus: number, on?: number) => {
    const id = `j${seq++}`;
    const node = on === undefined ? undefined : `n${on % nodeCpus.length}`;
    jobSnaps.set(id, jobOf(`u${seq % 3}`, cpus, node ? 'running' : 'queued'));
    index.job(id, jobSnaps.get(id)!, seq);
    setChunk(`${id}:0`, chunkOf(id, node ? 'running' : 'pending', node, cpus));
  };
  for (const j of jobs) add(j.cpus, j.on);
  return {
    peek,
    index,
    chunks,
    add,
    /** A running chunk ends (its room is free), or goes back to wait (a retry). */
    settle(pick: number, requeue: boolean) {
      const running = [...chunks].filter(([, c]) => c.value === 'running');
      const [id, c] = running[pick % Math.max(1, running.length)] ?? [];
      if (!id || !c) return;
      setChunk(id, requeue ? chunkOf(c.context.jobId) : chunkOf(c.context.jobId, 'succeeded'));
    },
    /** A waiting job is cancelled. */
    cancel(pick: number) {
      const waiting = [...index.waiting.keys()];
      const id = waiting[pick % Math.max(1, waiting.length)];
      if (!id) return;
      jobSnaps.set(id, { ...jobSnaps.get(id)!, value: 'cancelled' } as JobSnapshot);
      index.job(id, jobSnaps.get(id)!);
      setChunk(`${id}:0`, chunkOf(id, 'cancelled'));
    },
  };
}

const worldArb = fc.record({
  nodes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
  jobs: fc.array(
    fc.record({
      cpus: fc.integer({ min: 1, max: 6 }),
      on: fc.option(fc.nat({ max: 9 }), { nil: undefined }),
    }),
    { minLength: 130, maxLength: 400 },
  ),
});
const changeArb = fc.oneof(
  fc.record({ kind: fc.constant('end' as const), pick: fc.nat(), requeue: fc.boolean() }),
  fc.record({ kind: fc.constant('submit' as const), cpus: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
);

describe('planRoundSteps', () => {
  test.prop([worldArb], { numRuns: 40 })('run back to back, it is planRound', (w0) => {
    const a = world(w0.nodes, w0.jobs);
    const b = world(w0.nodes, w0.jobs);
    const input = (w: typeof a) => ({
      ...{ peek: w.peek, index: w.index, now: T0, config: defaultFairShareConfig },
      ...{ reserved: new Map(), inFlight: new Set<string>(), reasons: true },
    });
    const stepped = runSteps(planRoundSteps(input(a)));
    const whole = planRound(input(b));
    const view = (o: typeof whole) => ({
      placements: o.placements.map((p) => [p.task.id, p.node, p.rank]),
      pending: [...o.pending].map(([id, n]) => [id, n.reasons.map((r) => r.code), n.rank]),
      queueLength: o.queueLength,
    });
    expect(view(stepped)).toEqual(view(whole));
  });

  test.prop([worldArb, fc.array(fc.array(changeArb, { maxLength: 4 }), { maxLength: 20 })], {
    numRuns: 60,
  })('with the farm changing between its steps, books no node past its first view', (w0, ch) => {
    const w = world(w0.nodes, w0.jobs);
    const free = new Map<string, number>();
    w0.nodes.forEach((cpus, i) => free.set(`n${i}`, cpus - w.index.used(`n${i}`).cpus));
    const steps = planRoundSteps({
      ...{ peek: w.peek, index: w.index, now: T0, config: defaultFairShareConfig },
      ...{ reserved: new Map(), inFlight: new Set<string>(), reasons: true },
    });
    let turn = 0;
    let r = steps.next();
    while (!r.done) {
      for (const c of ch[turn++] ?? []) {
        if (c.kind === 'end') w.settle(c.pick, c.requeue);
        else if (c.kind === 'submit') w.add(c.cpus);
        else w.cancel(c.pick);
      }
      r = steps.next();
    }
    const ids = r.value.placements.map((p) => p.task.id);
    expect(new Set(ids).size).toBe(ids.length);
    const booked = new Map<string, number>();
    for (const p of r.value.placements)
      booked.set(p.node, (booked.get(p.node) ?? 0) + p.task.request.cpus);
    for (const [node, cpus] of booked) expect(cpus).toBeLessThanOrEqual(free.get(node)! + 1e-9);
  });
});
