import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { chunkSettlements as cs } from '../../../src/actors/index.js';
import type { ChunkSettlements, IndexedSettlement, Settlement } from '../../../src/actors/index.js';

/**
 * The representation the job kept before chunk-settlements.ts, with its rules verbatim: one entry
 * per index, `null` until settled, copied on every update. The compact one must agree with it.
 */
type Model = readonly (Settlement | null)[];
const same = (a: Settlement | null | undefined, b: Settlement) =>
  !!a && a.state === b.state && a.quiescent === b.quiescent;
const model = {
  fits(chunks: Model, batch: readonly IndexedSettlement[]): boolean {
    const seen = new Map<number, Settlement>();
    return batch.every(({ index, ...s }) => {
      if (index >= chunks.length) return false;
      const prior = chunks[index] ?? seen.get(index);
      seen.set(index, s);
      return prior === undefined || prior === null || same(prior, s);
    });
  },
  settle(chunks: Model, batch: readonly IndexedSettlement[]): Model {
    const next = [...chunks];
    for (const { index, state, quiescent } of batch) next[index] = { state, quiescent };
    return next;
  },
  awaitQuiescence: (chunks: Model, indices: readonly number[]) =>
    indices.every((i) => {
      const s = chunks[i];
      return !!s && !s.quiescent;
    }),
  quiesce(chunks: Model, indices: readonly number[]): Model {
    const next = [...chunks];
    for (const i of indices) {
      const prior = next[i];
      if (prior) next[i] = { ...prior, quiescent: true };
    }
    return next;
  },
};

type Op =
  | { readonly kind: 'settle'; readonly batch: readonly IndexedSettlement[] }
  | { readonly kind: 'quiesce'; readonly indices: readonly number[] };

const opArb = (index: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('settle' as const),
      batch: fc.array(
        fc.record({
          index,
          state: fc.constantFrom('succeeded' as const, 'failed' as const, 'cancelled' as const),
          quiescent: fc.boolean(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
    fc.record({
      kind: fc.constant('quiesce' as const),
      indices: fc.array(index, { minLength: 1, maxLength: 4 }),
    }),
  );

/** One operation on both; the same verdict, and the new pair (unchanged when rejected). */
function step(s: ChunkSettlements, m: Model, op: Op): [ChunkSettlements, Model] {
  if (op.kind === 'settle') {
    const ok = model.fits(m, op.batch);
    expect(cs.fits(s, op.batch)).toBe(ok);
    return ok ? [cs.settle(s, op.batch), model.settle(m, op.batch)] : [s, m];
  }
  const ok = model.awaitQuiescence(m, op.indices);
  expect(cs.awaitQuiescence(s, op.indices)).toBe(ok);
  return ok ? [cs.quiesce(s, op.indices), model.quiesce(m, op.indices)] : [s, m];
}

/** Counters and verdicts as the model derives them by scanning. */
function expectCounters(s: ChunkSettlements, m: Model): void {
  const settled = m.filter((e) => e !== null);
  expect(s).toMatchObject({
    total: m.length,
    settled: settled.length,
    succeeded: settled.filter((e) => e.state === 'succeeded').length,
    unquiescent: settled.filter((e) => !e.quiescent).length,
  });
  expect(cs.everySettled(s)).toBe(m.every((e) => e !== null));
  expect(cs.everyQuiescent(s)).toBe(m.every((e) => e?.quiescent === true));
  expect(cs.everySucceeded(s)).toBe(m.every((e) => e?.state === 'succeeded'));
}

/** The same contents always have the same representation, whatever the history. */
function expectCanonical(s: ChunkSettlements, m: Model): void {
  const batch: IndexedSettlement[] = [];
  m.forEach((e, index) => e && batch.push({ index, ...e }));
  expect(s).toEqual(cs.settle(cs.empty(m.length), batch));
  // Compared as text: a deep equality of thousands of numbers would dominate the run time.
  expect(cs.unsettled(s).join()).toBe(m.flatMap((e, i) => (e ? [] : [i])).join());
}

const small = fc
  .integer({ min: 1, max: 20 })
  .chain((total) =>
    fc.tuple(fc.constant(total), fc.array(opArb(fc.nat(total + 1)), { maxLength: 40 })),
  );

const { PAGE } = cs;
const edgesOf = (total: number) =>
  [0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 1, 2 * PAGE, total - 2, total - 1, total].filter(
    (i) => i >= 0,
  );
const paged = fc
  .integer({ min: PAGE - 1, max: 2 * PAGE + 2 })
  .chain((total) =>
    fc.tuple(
      fc.constant(total),
      fc.array(opArb(fc.constantFrom(...edgesOf(total))), { maxLength: 40 }),
    ),
  );

describe('chunk settlements agree with the array of settlements they replace', () => {
  test.prop([small], { numRuns: 1000 })(
    'on small jobs: the same verdicts, entries and counters after every operation',
    ([total, ops]) => {
      let s = cs.empty(total);
      let m: Model = Array.from({ length: total }, () => null);
      for (const op of ops) {
        [s, m] = step(s, m, op);
        expect(Array.from({ length: total }, (_, i) => cs.at(s, i))).toEqual(m);
        expectCounters(s, m);
        expectCanonical(s, m);
      }
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    },
  );

  test.prop([paged], { numRuns: 1000 })(
    'across page boundaries and a short last page: the same verdicts, entries and counters',
    ([total, ops]) => {
      let s = cs.empty(total);
      let m: Model = Array.from({ length: total }, () => null);
      const probes = [...new Set(edgesOf(total).flatMap((i) => [i - 1, i, i + 1]))];
      for (const op of ops) {
        [s, m] = step(s, m, op);
        expect(probes.map((i) => cs.at(s, i))).toEqual(probes.map((i) => m[i] ?? null));
      }
      expectCounters(s, m);
      expectCanonical(s, m);
    },
  );
});
