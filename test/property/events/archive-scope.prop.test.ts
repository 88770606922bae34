import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runCutoff, runsToRead, type ArchiveRun } from '../../../src/events/index.js';

const HOUR = 3_600_000;

/** A recorded run: its original sequences, when it ran and with what `--older-than`. */
const runArb: fc.Arbitrary<ArchiveRun> = fc
  .record({
    minSeq: fc.integer({ min: 1, max: 1_000 }),
    span: fc.integer({ min: 0, max: 500 }),
    at: fc.integer({ min: 0, max: 100 * HOUR }),
    olderThanMs: fc.integer({ min: 0, max: 48 * HOUR }),
  })
  .map(({ minSeq, span, at, olderThanMs }) => ({
    fromSeq: 1,
    toSeq: 1,
    minSeq,
    maxSeq: minSeq + span,
    messages: span + 1,
    subjects: 1,
    at: new Date(at).toISOString(),
    olderThanMs,
  }));

describe('runsToRead: the archive a read model with a retention folds (pure)', () => {
  test.prop([
    fc.array(runArb, { maxLength: 12 }),
    fc.integer({ min: 1, max: 1_600 }),
    fc.integer({ min: 0, max: 150 * HOUR }),
  ])(
    'leaves out exactly the runs wholly after fromSeq whose every job ended before the scope',
    (runs, fromSeq, endedSince) => {
      const all = runsToRead(runs, fromSeq, Infinity);
      const scoped = runsToRead(runs, fromSeq, Infinity, { endedSince });
      for (const r of all) {
        const left = !scoped.includes(r);
        // Left out only when nothing of it was folded into a snapshot before fromSeq (no job
        // half-folded) and its every job ended before the scope (the retention drops them).
        expect(left).toBe(r.minSeq >= fromSeq && runCutoff(r) < endedSince);
      }
      // The scope never adds a run the unscoped read would not merge.
      for (const r of scoped) expect(all).toContain(r);
    },
  );

  it('a short --older-than keeps a recent run (its jobs ended within the retention) and the cutoff comes from the record', () => {
    const now = Date.parse('2026-12-05T16:00:00Z');
    const run = (at: number, olderThanMs: number): ArchiveRun => ({
      fromSeq: 1,
      toSeq: 10,
      minSeq: 5,
      maxSeq: 50,
      messages: 10,
      subjects: 3,
      at: new Date(at).toISOString(),
      olderThanMs,
    });
    const scope = { endedSince: now - 24 * HOUR };
    const recent = run(now - HOUR, 60_000); // soak-style: every minute, 60 s
    const old = run(now - 25 * HOUR, 60_000);
    const longAgoRetention = run(now - HOUR, 7 * 24 * HOUR); // `--older-than 7d`, run today
    expect(runsToRead([recent, old, longAgoRetention], 1, Infinity, scope)).toEqual([recent]);
    expect(runCutoff(recent)).toBe(now - HOUR - 60_000);
    // A record without its time is never left out.
    const unknown = { ...old, at: 'not a time' };
    expect(runsToRead([unknown], 1, Infinity, scope)).toEqual([unknown]);
    // Holding events before fromSeq (a snapshot saw its jobs half-way): read, whatever its age.
    expect(runsToRead([old], 10, Infinity, scope)).toEqual([old]);
  });
});
