import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { jobBehaviour, type JobSnapshot } from '../../../src/actors/index.js';
import { parseEventSubject, type RecordedEvent } from '../../../src/events/index.js';
import {
  defaultFairShareConfig,
  historyAt,
  queueOrder,
  type FairShareConfig,
  type ResourceVector,
  type Task,
} from '../../../src/policy/index.js';
import {
  createFairshareProjection,
  fairshare,
  type FairshareState,
} from '../../../src/projections/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

/**
 * The scheduler ranks by its index's decayed usage; `drover fairshare` shows the projection's.
 * Both fold usage with the policy's one `foldUsage` (lost workers count: usage is occupancy), so
 * for any farm history (with lost nodes, OOM kills, retries) a user's decayed history, and the
 * share it gives, must be the same on both sides. This would catch the two folds drifting apart
 * again (the index once skipped `worker.lost` while the projection counted it).
 */
const configArb: fc.Arbitrary<FairShareConfig> = fc.record({
  halfLifeS: fc.constantFrom(60, 3600, defaultFairShareConfig.halfLifeS),
  lambda: fc.constantFrom(0, 0.5, 1),
  weights: fc.constantFrom<FairShareConfig['weights']>({}, { u0: 2 }, { u1: { cpus: 3 } }),
});

/** The scheduler's side: job states folded by the job machine, usage by the index (as tailed). */
function schedulerIndex(events: readonly RecordedEvent[], halfLifeS: number): FarmIndex {
  const index = new FarmIndex(halfLifeS);
  const jobs = new Map<string, JobSnapshot>();
  for (const e of events) {
    const where = parseEventSubject(e.recorded.subject);
    if (where?.entity === 'job') {
      const before = jobs.get(where.id) ?? jobBehaviour.initial();
      try {
        jobs.set(where.id, jobBehaviour.evolve(before, e));
      } catch {
        // the generated history is plausible, not always legal: the runtime skips such an event
      }
    }
    index.usage(e, (jobId) => jobs.get(jobId)?.context.spec?.user);
  }
  return index;
}

function capacityOf(s: FairshareState): ResourceVector {
  const c = { cpus: 0, memMb: 0, gpus: 0 };
  for (const n of s.nodes.values())
    if (n.up)
      [c.cpus, c.memMb, c.gpus] = [
        c.cpus + n.capacity.cpus,
        c.memMb + n.capacity.memMb,
        c.gpus + n.capacity.gpus,
      ];
  return c;
}

/** A waiting task asking for nothing: its dru is its user's history term alone. */
const probe = (user: string, order: number): Task => ({
  ...{ id: `p:${user}`, jobId: `p-${user}`, index: 0, user, pool: 'default', priority: 0 },
  ...{ globalFront: false, submittedAt: 0, order, running: false, labels: {} },
  ...{ request: { cpus: 0, memMb: 0, gpus: 0 }, excludeNodes: [], avoidNodes: [] },
});

const close = (a: number, b: number) =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('fair share: the scheduler and `drover fairshare` agree', () => {
  test.prop(
    [
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 14 }),
      fc.integer({ min: 1, max: 4 }),
      configArb,
      fc.integer({ min: 0, max: 3 * 86_400_000 }),
    ],
    { numRuns: 120 },
  )('per user: decayed history and its share are equal', (seed, jobs, users, config, later) => {
    const events = recordAll(farmHistory(seed, { jobs, users }));
    const p = createFairshareProjection(config);
    let s = p.initial();
    for (const e of events) s = p.apply(s, e);
    const index = schedulerIndex(events, config.halfLifeS);
    const now = (events.at(-1)?.at ?? 0) + later;
    const rows = fairshare(s, { now, config });
    const charged = Object.keys(index.history.byUser).sort();
    expect(charged).toEqual(Object.keys(s.history.byUser).sort());
    const ranked = queueOrder(
      charged.map((u, i) => probe(u, i)),
      {
        capacity: capacityOf(s),
        history: (u) => historyAt(index.history, u, now, config.halfLifeS),
        config,
      },
    );
    for (const user of charged) {
      const row = rows.find((r) => r.user === user)!;
      const mine = historyAt(index.history, user, now, config.halfLifeS);
      for (const r of ['cpus', 'memMb', 'gpus'] as const)
        expect(close(mine[r], row.history[r]), `${user} ${r}`).toBe(true);
      const historyShare = Math.max(...Object.values(row.terms.history));
      const dru = ranked.find((x) => x.task.user === user)!.dru;
      expect(close(dru, historyShare), `${user} dru ${dru} vs ${historyShare}`).toBe(true);
    }
  });
});
