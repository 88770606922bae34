import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChunkSnapshot, JobSnapshot, NodeSnapshot } from '../../../src/actors/index.js';
import { defaultFairShareConfig, type Placement } from '../../../src/policy/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import {
  PlacementLoop,
  type AdmissionStep,
} from '../../../src/scheduler/placement-loop.service.js';
import type { Action, Peek, RuleContext } from '../../../src/scheduler/rules.js';

const spec = { user: 'ann', pool: 'default', after: [], labels: {}, excludeNodes: [] };
const job = {
  value: 'queued',
  context: { spec: { ...spec, cpus: 1, memMb: 100, gpus: 0 }, priority: 0, createdAt: 0 },
} as unknown as JobSnapshot;
const chunk = {
  value: 'pending',
  context: { jobId: 'j1', index: 0, attempt: 0, attempts: [] },
} as unknown as ChunkSnapshot;
const node = {
  value: 'ready',
  context: { cpus: 4, memMb: 1000, gpus: 0, labels: {} },
} as unknown as NodeSnapshot;

/** One waiting chunk and one ready node; `assign` settles when the test says. */
function farm(admission?: AdmissionStep[]) {
  const index = new FarmIndex(3600);
  index.job('j1', job, 1);
  index.chunk('j1:0', chunk);
  index.node('n1', node);
  const peek = { job: () => job, chunk: () => chunk, node: () => node } as unknown as Peek;
  const assigned: Placement[] = [];
  let settle: () => void = () => {};
  const loop = new PlacementLoop({
    ...{ peek, index, config: defaultFairShareConfig, clock: () => 0, canWrite: () => true },
    context: () => ({ peek }) as unknown as RuleContext,
    run: () => {},
    assign: (p) => {
      assigned.push(p);
      return new Promise<void>((resolve) => (settle = resolve));
    },
    logger: pino({ level: 'silent' }),
    turnBudgetMs: Infinity, // each round ends within round()
    ...(admission && { admission }),
  });
  return { loop, assigned, settle: () => settle() };
}

describe('PlacementLoop: what a round promised stays booked until its append settles', () => {
  it('reserves the placement on its node and holds the chunk in flight, then frees both', async () => {
    const { loop, assigned, settle } = farm();
    loop.request();
    loop.round();
    expect(assigned.map((p) => [p.task.id, p.node])).toEqual([['j1:0', 'n1']]);
    expect(loop.inFlight.has('j1:0')).toBe(true);
    expect(loop.reserved.get('n1')).toEqual({ cpus: 1, memMb: 100, gpus: 0 });
    loop.request();
    loop.round(); // the chunk in flight is not placed twice
    expect(assigned).toHaveLength(1);
    settle();
    await new Promise((r) => setImmediate(r));
    expect(loop.inFlight.size).toBe(0);
    expect(loop.reserved.get('n1')).toEqual({ cpus: 0, memMb: 0, gpus: 0 });
  });

  it('admission steps run between the plan and the placements (the seam for quotas)', () => {
    const seen: number[] = [];
    const refuseAll: AdmissionStep = (plan) => (seen.push(plan.placements.length), []);
    const { loop, assigned } = farm([refuseAll]);
    loop.request();
    loop.round();
    expect(seen).toEqual([1]);
    expect(assigned).toEqual([]);
    expect(loop.reserved.size).toBe(0);
  });
});

describe('PlacementLoop: a quiet refresh is told, for the heap release', () => {
  it('tells quietRound after a quiet round that noted nothing new, not after one that noted', () => {
    const big = {
      ...job,
      context: { ...job.context, spec: { ...job.context.spec, memMb: 5000 } },
    } as unknown as JobSnapshot;
    let held: JobSnapshot = big;
    const index = new FarmIndex(3600);
    index.job('j1', big, 1);
    index.chunk('j1:0', chunk);
    index.node('n1', node);
    const peek = { job: () => held, chunk: () => chunk, node: () => node } as unknown as Peek;
    let now = 1_000;
    const told: number[] = [];
    const ran: Action[][] = [];
    const loop = new PlacementLoop({
      ...{ peek, index, config: defaultFairShareConfig, clock: () => now, canWrite: () => true },
      context: () => ({ peek, now, by: { kind: 'scheduler', id: 's', epoch: 1 } }) as RuleContext,
      run: (notes) => ran.push(notes.flatMap((n) => n.action() ?? [])),
      assign: () => undefined,
      quietRound: (n) => told.push(n),
      logger: pino({ level: 'silent' }),
      turnBudgetMs: Infinity,
    });
    loop.request();
    loop.round();
    const [note] = ran[0] ?? [];
    expect(note?.entity === 'job' && note.command.type).toBe('NotePending');
    expect(told).toEqual([]); // its note is still to be written
    if (note?.entity !== 'job' || note.command.type !== 'NotePending') throw new Error('no note');
    const pending = { reasons: note.command.data.reasons };
    held = { ...big, context: { ...big.context, pending } } as unknown as JobSnapshot;
    now += 1_000;
    loop.request();
    loop.round();
    expect(ran[1]).toEqual([]);
    expect(told).toEqual([1]);
  });
});
