import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobBehaviour, type JobSnapshot } from '../../../src/actors/index.js';
import { parseEventSubject, type RecordedEvent } from '../../../src/events/index.js';
import { FarmIndex } from '../../../src/scheduler/farm-index.js';
import {
  parseUsageCheckpoint,
  type UsageCheckpoint,
} from '../../../src/scheduler/usage-checkpoint.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

/**
 * The scheduler starts its usage fold from a checkpoint (issue 23 point 7: start-up must not need
 * the whole history, which compaction moves out of the live log anyway). Usage is a decayed fold,
 * so the checkpoint at sequence k plus the events after k must give exactly the full fold: same
 * users, same decayed resource-seconds (bit for bit: the same operations in the same order), the
 * same workers still holding resources. Both ways the scheduler meets its log: the whole live log
 * again (nothing compacted: the checkpoint's events are skipped) or only the events after k
 * (compacted away), and through the stored form (JSON, then the parser).
 */
type UserOf = (jobId: string) => string | undefined;

/** Job states as the scheduler's runtime folds them (its `userOf` reads them). */
function jobUsers(events: readonly RecordedEvent[]): UserOf {
  const jobs = new Map<string, JobSnapshot>();
  for (const e of events) {
    const where = parseEventSubject(e.recorded.subject);
    if (where?.entity !== 'job') continue;
    try {
      jobs.set(where.id, jobBehaviour.evolve(jobs.get(where.id) ?? jobBehaviour.initial(), e));
    } catch {
      // generated histories are plausible, not always legal: the runtime skips such an event
    }
  }
  return (jobId) => jobs.get(jobId)?.context.spec?.user;
}

function fold(index: FarmIndex, events: readonly RecordedEvent[], userOf: UserOf): FarmIndex {
  for (const e of events) index.usage(e, userOf);
  return index;
}

const stored = (c: UsageCheckpoint) => parseUsageCheckpoint(JSON.parse(JSON.stringify(c)));

describe('the scheduler usage checkpoint', () => {
  test.prop(
    [
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(60, 3600, 86_400),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
    ],
    { numRuns: 150 },
  )(
    'a checkpoint at k plus the tail equals the full fold',
    (seed, jobs, users, halfLifeS, cut, compacted) => {
      const events = recordAll(farmHistory(seed, { jobs, users: users }));
      const userOf = jobUsers(events);
      const k = Math.floor(cut * events.length);
      const full = fold(new FarmIndex(halfLifeS), events, userOf);
      const before = fold(new FarmIndex(halfLifeS), events.slice(0, k), userOf);
      const resumed = new FarmIndex(halfLifeS);
      resumed.resumeUsage(stored(before.usageCheckpoint()));
      fold(resumed, compacted ? events.slice(k) : events, userOf);
      expect(resumed.history).toEqual(full.history);
      expect(resumed.usageCheckpoint()).toEqual(full.usageCheckpoint());
    },
  );

  it('an index folded from zero differs once usage is dropped (the test can fail)', () => {
    const events = recordAll(farmHistory(7, { jobs: 10, users: 3 }));
    const userOf = jobUsers(events);
    const k = Math.floor(events.length / 2);
    const full = fold(new FarmIndex(3600), events, userOf);
    const tailOnly = fold(new FarmIndex(3600), events.slice(k), userOf);
    expect(tailOnly.history).not.toEqual(full.history);
  });

  it('a damaged checkpoint is refused, naming the field', () => {
    const good = {
      v: 1,
      seq: 3,
      history: { refAt: 1, byUser: { ann: { cpus: 1, memMb: 2, gpus: 0 } } },
      workers: [['j:0:1', { user: 'ann', request: { cpus: 1, memMb: 2, gpus: 0 }, start: 5 }]],
    };
    expect(parseUsageCheckpoint(good).workers[0]![1].user).toBe('ann');
    expect(() => parseUsageCheckpoint({ ...good, v: 2 })).toThrow(/usage checkpoint: v:/);
    expect(() => parseUsageCheckpoint({ ...good, seq: -1 })).toThrow(/: seq:/);
    const badUser = { ...good, history: { refAt: 1, byUser: { ann: { cpus: 'x' } } } };
    expect(() => parseUsageCheckpoint(badUser)).toThrow(/history\.byUser\.ann\.cpus/);
    const badWorker = { ...good, workers: [['w', { user: 'ann', request: {}, start: 5 }]] };
    expect(() => parseUsageCheckpoint(badWorker)).toThrow(/workers\[0\]\[1\]\.request\.cpus/);
  });

  it('keeps a user called __proto__ as data', () => {
    const c = parseUsageCheckpoint(
      JSON.parse(
        '{"v":1,"seq":1,"history":{"refAt":0,"byUser":{"__proto__":{"cpus":1,"memMb":0,"gpus":0}}},"workers":[]}',
      ),
    );
    expect(Object.hasOwn(c.history.byUser, '__proto__')).toBe(true);
  });
});
