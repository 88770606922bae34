import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { jobFold, stateName } from '../../../src/actors/index.js';
import {
  createCompactionSelector,
  mergeBySeq,
  observeForCompaction,
  parseEventSubject,
  type RecordedEvent,
} from '../../../src/events/index.js';
import { checkLog } from '../../../src/events/integrity.js';
import {
  allProjections,
  checkpointsOf,
  createProjectionSet,
  foldItems,
} from '../../../src/projections/index.js';
import { planCompaction } from '../../../src/events/compaction.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

const projections = allProjections();
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/**
 * A job's state by its machine; generated histories are plausible, not always legal (a job may
 * succeed without a recorded start), so a history the machine refuses is judged by its last
 * state-setting event.
 */
function jobState(own: readonly RecordedEvent[]): string {
  try {
    return stateName(jobFold.foldEvents(own));
  } catch {
    const setting = own.filter((e) =>
      /^job\.(submitted|queued|held|released|started|cancel_requested|succeeded|failed|cancelled)$/.test(
        e.type,
      ),
    );
    return setting[setting.length - 1]?.type.slice(4) ?? 'none';
  }
}
const timeOf = (e: RecordedEvent) => new Date(e.at).getTime();

/** Every projection (usage, audit, fair share, throughput, decisions) folded over `events`. */
function folds(events: readonly RecordedEvent[]): unknown {
  const set = createProjectionSet(projections);
  foldItems(set, events);
  return checkpointsOf(set).map((c) => ({ name: c.name, state: c.state }));
}

async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

async function* batches<T>(items: readonly T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A farm history, a retention cutoff somewhere in it, and how the move is cut into runs. */
const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  jobs: fc.integer({ min: 0, max: 14 }),
  users: fc.integer({ min: 1, max: 3 }),
  cutAt: fc.double({ min: 0, max: 1.2, noNaN: true }),
  runs: fc.integer({ min: 1, max: 3 }),
  crashAfterRecord: fc.boolean(),
  batch: fc.integer({ min: 1, max: 50 }),
});

describe('compaction: moving done job trees to the archive changes no answer', () => {
  test.prop([caseArb], { numRuns: 120 })(
    'merged archive + live log equals the original log; folds and integrity unchanged',
    async ({ seed, jobs, users, cutAt, runs, crashAfterRecord, batch }) => {
      const events = recordAll(farmHistory(seed, { jobs, users }));
      const times = events.map(timeOf);
      const t0 = Math.min(...times, 0);
      const t1 = Math.max(...times, 0);
      const cutoff = t0 + (t1 - t0) * cutAt;
      const selector = createCompactionSelector();
      for (const e of events) observeForCompaction(selector, e.recorded.subject, timeOf(e), e);
      const plan = planCompaction(selector, cutoff);
      const moved = new Set(plan.subjects);

      // Only whole, done trees move: every moved job is terminal by its own machine, every moved
      // entity's events are all before the cutoff, chunks and workers go with their job.
      const bySubject = new Map<string, RecordedEvent[]>();
      for (const e of events) {
        const list = bySubject.get(e.recorded.subject) ?? [];
        list.push(e);
        bySubject.set(e.recorded.subject, list);
      }
      for (const subject of moved) {
        const own = bySubject.get(subject) ?? [];
        expect(own.every((e) => timeOf(e) <= cutoff)).toBe(true);
        const { entity, id } = parseEventSubject(subject)!;
        expect(['job', 'chunk', 'worker']).toContain(entity);
        const job = entity === 'job' ? id : id.split(':')[0]!;
        expect(moved.has(`drover.ev.job.${job}`)).toBe(true);
        if (entity === 'job') {
          expect(TERMINAL).toContain(jobState(own));
          for (const e of own) {
            if (e.type === 'job.child_added') {
              expect(moved.has(`drover.ev.job.${(e.data as { childId: string }).childId}`)).toBe(
                true,
              );
            }
          }
        }
      }
      expect(plan.messages).toBe(events.filter((e) => moved.has(e.recorded.subject)).length);

      // The move, cut into runs (each in original order); a crash after the last record leaves
      // its events live too.
      const archived = events.filter((e) => moved.has(e.recorded.subject));
      const per = Math.ceil(archived.length / runs) || 1;
      const archiveRuns = Array.from({ length: runs }, (_, k) =>
        archived.slice(k * per, (k + 1) * per),
      );
      const kept = crashAfterRecord ? new Set(archiveRuns[runs - 1]) : new Set<RecordedEvent>();
      const live = events.filter((e) => !moved.has(e.recorded.subject) || kept.has(e));
      const merged = await collect(
        mergeBySeq(
          [live, ...archiveRuns].map((src) =>
            batches(
              src.map((e) => ({ seq: e.recorded.seq, e })),
              batch,
            ),
          ),
          batch,
        ),
      );
      const back = merged.map((m) => m.e);
      expect(back.map((e) => e.recorded.seq)).toEqual(events.map((e) => e.recorded.seq));
      expect(folds(back)).toEqual(folds(events));
      const entries = back.map((e) => ({
        subject: e.recorded.subject,
        seq: e.recorded.seq,
        id: e.id,
      }));
      expect(checkLog(entries, events.length).whole).toBe(true);
    },
  );

  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 20 })(
    'with a cutoff after the whole history, trees do move (the properties above are not vacuous)',
    (seed) => {
      const events = recordAll(farmHistory(seed, { jobs: 10, users: 2 }));
      const selector = createCompactionSelector();
      for (const e of events) observeForCompaction(selector, e.recorded.subject, timeOf(e), e);
      const plan = planCompaction(selector, Math.max(...events.map(timeOf)));
      expect(plan.roots.length).toBeGreaterThan(0);
      expect(plan.subjects.some((s) => s.startsWith('drover.ev.worker.'))).toBe(true);
    },
  );

  test.prop([caseArb], { numRuns: 60 })(
    'a job tree with any job not terminal, or touched after the cutoff, never moves',
    ({ seed, jobs, users, cutAt }) => {
      const events = recordAll(farmHistory(seed, { jobs, users }));
      // Drop each job's last event: most trees are then unfinished.
      const lastOfJob = new Map<string, number>();
      events.forEach((e, i) => {
        if (e.recorded.subject.startsWith('drover.ev.job.')) lastOfJob.set(e.recorded.subject, i);
      });
      const cut = new Set(lastOfJob.values());
      const partial = events.filter((_, i) => !cut.has(i));
      const selector = createCompactionSelector();
      for (const e of partial) observeForCompaction(selector, e.recorded.subject, timeOf(e), e);
      const times = partial.map(timeOf);
      const cutoff =
        Math.min(...times, 0) + (Math.max(...times, 0) - Math.min(...times, 0)) * cutAt;
      const plan = planCompaction(selector, cutoff);
      for (const subject of plan.subjects.filter((s) => s.startsWith('drover.ev.job.'))) {
        const own = partial.filter((e) => e.recorded.subject === subject);
        expect(TERMINAL).toContain(jobState(own));
      }
    },
  );
});
