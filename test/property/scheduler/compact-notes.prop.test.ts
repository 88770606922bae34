import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../../../src/actors/index.js';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  type NodeState,
  type PendingReason,
  type Ranked,
  type Task,
} from '../../../src/policy/index.js';
import { AheadIndex } from '../../../src/scheduler/ahead-index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { planRound } from '../../../src/scheduler/placement-round.js';
import type { Peek } from '../../../src/scheduler/rules.js';
import { notesDiffer } from '../../../src/scheduler/work-messages.js';
import { task } from '../../support/policy-arbitraries.js';

/**
 * Issue 22 point 5: a round keeps its pending notes compact (who is ahead of each waiting job is
 * built on demand from positions and drus, not as a list per job; reason lists are shared; notes
 * are compared without joining strings). These properties hold the compact forms to the plain
 * ones they replaced, so a compact form that lost something a note or a decision uses fails here.
 */

/** The plain form the round used before (kept here as the reference): a list per waiting task. */
function plainAhead(ranked: readonly Ranked[], waiting: ReadonlySet<string>) {
  const out = new Map<string, { rank: number; ahead: { user: string; dru: number }[] }>();
  const firstUsers: string[] = [];
  const lastDru = new Map<string, number>();
  for (const r of ranked) {
    if (waiting.has(r.task.id)) {
      const ahead = firstUsers
        .filter((u) => u !== r.task.user)
        .slice(0, 20)
        .map((user) => ({ user, dru: lastDru.get(user) as number }));
      out.set(r.task.id, { rank: r.rank, ahead });
    }
    if (r.task.running) continue;
    if (!lastDru.has(r.task.user) && firstUsers.length <= 20) firstUsers.push(r.task.user);
    if (firstUsers.includes(r.task.user)) lastDru.set(r.task.user, r.dru);
  }
  return out;
}

// More users than a note names (20) and than the index follows (21), so the caps are exercised.
const users = Array.from({ length: 30 }, (_, i) => `u${i}`);

const rankedArb = fc
  .array(
    fc.record({
      user: fc.constantFrom(...users),
      running: fc.boolean(),
      waiting: fc.boolean(),
      step: fc.constantFrom(0, 0.001, 0.25, 1),
    }),
    // size 'max': fast-check's default keeps arrays near 10 long, too few users to reach the caps
    { maxLength: 120, size: 'max' },
  )
  .map((rows) => {
    let dru = 0;
    return rows.map((r, rank) => {
      dru += r.step; // drus ascend along the queue, ties included
      const t = task({ jobId: `j${rank}`, user: r.user, running: r.running });
      return { ranked: { task: t, dru, rank } as Ranked, waiting: r.waiting && !r.running };
    });
  });

describe('compact pending notes', () => {
  test.prop([rankedArb], { numRuns: 400 })(
    'AheadIndex names the same users with the same drus as a list per task',
    (rows) => {
      const ranked = rows.map((r) => r.ranked);
      const waiting = new Set(rows.filter((r) => r.waiting).map((r) => r.ranked.task.id));
      const plain = plainAhead(ranked, waiting);
      const index = new AheadIndex(ranked);
      ranked.forEach((r, at) => {
        if (!waiting.has(r.task.id)) return;
        expect(index.at(at, r.task.user)).toEqual(plain.get(r.task.id)!.ahead);
      });
    },
  );

  const codes = fc.array(fc.constantFrom('Resources', 'Priority', 'Backoff', 'Held', 'Excluded'), {
    maxLength: 4,
  });
  test.prop([fc.option(codes, { nil: undefined }), codes])(
    'notesDiffer without strings agrees with comparing the joined codes',
    (held, noted) => {
      const asReasons = (cs: string[]) => cs.map((code) => ({ code }));
      const joined = held?.join(',') !== noted.join(','); // the reference: codes are words
      expect(notesDiffer(held && asReasons(held), asReasons(noted))).toBe(joined);
    },
  );

  const worldArb = fc.record({
    jobs: fc.array(
      fc.record({
        user: fc.constantFrom(...users.slice(0, 24)),
        cpus: fc.constantFrom(1, 2, 4, 16),
        chunks: fc.integer({ min: 1, max: 3 }),
        priority: fc.constantFrom(0, 0, 5),
        held: fc.nat(8).map((x) => x === 0),
      }),
      { maxLength: 60, size: 'max' },
    ),
    nodes: fc.array(fc.constantFrom(1, 2, 4, 8), { maxLength: 4 }),
  });

  test.prop([worldArb], { numRuns: 200 })(
    "a round's notes are those of the plain queue: reasons, rank and who is ahead",
    ({ jobs: rows, nodes: sizes }) => {
      const jobs = new Map<string, JobSnapshot>();
      const chunks = new Map<string, ChunkSnapshot>();
      const nodeMap = new Map<string, NodeSnapshot>();
      const index = new FarmIndex(3600);
      const peek = {
        job: (id: string) => jobs.get(id),
        chunk: (id: string) => chunks.get(id),
        node: (id: string) => nodeMap.get(id),
        worker: () => undefined,
      } as unknown as Peek;
      const tasks: Task[] = [];
      rows.forEach((r, n) => {
        const id = `job${n}`;
        const spec = {
          ...{ user: r.user, pool: 'default', after: [], labels: {}, excludeNodes: [] },
          ...{ chunks: r.chunks, cpus: r.cpus, memMb: 100, gpus: 0 },
        };
        const job = {
          value: r.held ? 'held' : 'queued',
          context: { spec, priority: r.priority, createdAt: 10 * (n % 7) },
        } as unknown as JobSnapshot;
        jobs.set(id, job);
        index.job(id, job, n + 1);
        for (let i = 0; i < r.chunks; i++) {
          const chunk = {
            value: 'pending',
            context: { jobId: id, index: i, attempt: 0, attempts: [] },
          } as unknown as ChunkSnapshot;
          chunks.set(`${id}:${i}`, chunk);
          index.chunk(`${id}:${i}`, chunk);
          if (!r.held)
            tasks.push(
              task({
                jobId: id,
                index: i,
                user: r.user,
                priority: r.priority,
                submittedAt: 10 * (n % 7),
                order: n + 1,
                request: { cpus: r.cpus, memMb: 100, gpus: 0 },
              }),
            );
        }
      });
      const nodes: NodeState[] = sizes.map((cpus, n) => {
        const id = `n${n}`;
        const snap = {
          value: 'ready',
          context: { cpus, memMb: 10_000, gpus: 0, labels: {} },
        } as unknown as NodeSnapshot;
        nodeMap.set(id, snap);
        index.node(id, snap);
        return {
          id,
          state: 'ready',
          capacity: { cpus, memMb: 10_000, gpus: 0 },
          used: { cpus: 0, memMb: 0, gpus: 0 },
          labels: {},
        };
      });
      const now = 1_000;
      const out = planRound({
        ...{ peek, index, now, config: defaultFairShareConfig },
        ...{ reserved: new Map(), inFlight: new Set<string>(), reasons: true },
      });

      // The plain round: every task queued, placed, and each waiting task's reasons and list.
      const capacity = nodes.reduce((c, x) => c + x.capacity.cpus, 0);
      const ranked = queueOrder(tasks, {
        capacity: { cpus: capacity, memMb: 10_000 * nodes.length, gpus: 0 },
        history: () => ({ cpus: 0, memMb: 0, gpus: 0 }),
        config: defaultFairShareConfig,
      });
      const round = placeRound(ranked, nodes, now, { reasons: true });
      const plain = plainAhead(ranked, new Set(round.waiting.keys()));
      const expected = new Map<string, { codes: string[]; rank?: number; ahead: unknown[] }>();
      for (const [taskId, reasons] of round.waiting) {
        const jobId = taskId.slice(0, taskId.lastIndexOf(':'));
        if (expected.has(jobId)) continue;
        const a = plain.get(taskId)!;
        expected.set(jobId, { codes: codesOf(reasons), rank: a.rank, ahead: a.ahead });
      }
      rows.forEach((r, n) => {
        if (r.held) expected.set(`job${n}`, { codes: ['Held'], ahead: [] });
      });

      expect(out.placements.map((p) => [p.task.id, p.node])).toEqual(
        round.placements.map((p) => [p.task.id, p.node]),
      );
      const got = new Map(
        [...out.pending].map(([jobId, note]) => [
          jobId,
          {
            codes: codesOf(note.reasons),
            ...(note.rank !== undefined && { rank: note.rank }),
            ahead: out.ahead(note, jobs.get(jobId)!.context.spec!.user),
          },
        ]),
      );
      expect(got).toEqual(expected);
    },
  );
});

const codesOf = (reasons: readonly PendingReason[]) => reasons.map((r) => r.code);
