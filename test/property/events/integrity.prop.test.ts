import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { checkLog, type LogEntry } from '../../../src/events/index.js';

/** A whole log: each event chained to its entity's previous one, as conditional appends write it. */
const logArb = fc
  .array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 200 })
  .map((owners) => {
    const last = new Map<string, number>();
    return owners.map((o, i): LogEntry => {
      const subject = `drover.ev.job.j${o}`;
      const seq = i + 1;
      const prev = last.get(subject) ?? 0;
      last.set(subject, seq);
      return { subject, seq, prev, id: `e${seq}` };
    });
  });

/** A whole log and a non-empty set of its sequences to delete. */
const damagedArb = logArb.chain((log) =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: log.length }), { minLength: 1, maxLength: log.length })
    .map((deleted) => ({ log, deleted: new Set(deleted) })),
);

describe('log integrity', () => {
  test.prop([logArb], { numRuns: 500 })('a whole log reports nothing', (log) => {
    const r = checkLog(log, log.length);
    expect(r.whole).toBe(true);
    expect(r.holes).toEqual([]);
    expect(r.breaks).toEqual([]);
    expect(r.unchained).toBe(0);
    expect(r.messages).toBe(log.length);
  });

  test.prop([damagedArb], { numRuns: 1000 })(
    'any deletion is detected, and the entities that lost events are named',
    ({ log, deleted }) => {
      const kept = log.filter((e) => !deleted.has(e.seq));
      // JetStream keeps the last sequence when its message is deleted.
      const r = checkLog(kept, log.length);
      expect(r.whole).toBe(false);
      expect(r.breaks).toEqual([]);
      // The holes cover exactly the deleted sequences.
      const covered = r.holes.flatMap((h) =>
        Array.from({ length: h.toSeq - h.fromSeq + 1 }, (_, i) => h.fromSeq + i),
      );
      expect(covered).toEqual([...deleted].sort((a, b) => a - b));
      const subjectOf = new Map(log.map((e) => [e.seq, e.subject]));
      for (const h of r.holes) {
        // Named: every surviving event whose predecessor was deleted names its entity here.
        for (const e of kept) {
          if (e.prev !== undefined && e.prev >= h.fromSeq && e.prev <= h.toSeq)
            expect(h.subjects).toContain(e.subject);
        }
        // No false names: a named entity really lost an event in this hole.
        for (const s of h.subjects) {
          const lost = [...deleted].some(
            (d) => d >= h.fromSeq && d <= h.toSeq && subjectOf.get(d) === s,
          );
          expect(lost).toBe(true);
        }
      }
    },
  );

  it('names a duplicate event id, an undecodable message and a forked chain', () => {
    const r = checkLog(
      [
        { subject: 'drover.ev.job.a', seq: 1, prev: 0, id: 'x' },
        { subject: 'drover.ev.job.b', seq: 2, prev: 0, id: 'x' },
        { subject: 'drover.ev.job.a', seq: 3, undecodable: 'message is not msgpack' },
        { subject: 'drover.ev.job.b', seq: 4, prev: 0, id: 'y' },
      ],
      4,
    );
    expect(r.whole).toBe(false);
    expect(r.duplicates).toEqual([{ id: 'x', subject: 'drover.ev.job.b', firstSeq: 1, seq: 2 }]);
    expect(r.undecodable).toEqual([
      { subject: 'drover.ev.job.a', seq: 3, message: 'message is not msgpack' },
    ]);
    expect(r.unchained).toBe(1);
    expect(r.breaks).toEqual([{ subject: 'drover.ev.job.b', seq: 4, prev: 0, found: 2 }]);
  });
});
