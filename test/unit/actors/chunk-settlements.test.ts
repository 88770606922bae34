import { describe, expect, it } from 'vitest';
import { chunkSettlements as cs, jobFold, toPlain } from '../../../src/actors/index.js';
import type { ChunkSettlements, IndexedSettlement } from '../../../src/actors/index.js';
import type { SettledState } from '../../../src/events/index.js';
import { ev, spec } from '../../support/decider-spec.js';

const { PAGE } = cs;
const entries = (s: ChunkSettlements) => Array.from({ length: s.total }, (_, i) => cs.at(s, i));
const at = (index: number, state: SettledState = 'succeeded', quiescent = true) =>
  ({ index, state, quiescent }) as IndexedSettlement;
const counters = ({ total, settled, succeeded, unquiescent }: ChunkSettlements) => ({
  total,
  settled,
  succeeded,
  unquiescent,
});

describe('chunk settlements', () => {
  it('starts with every index unsettled, one page per PAGE indices', () => {
    const s = cs.empty(3);
    expect(counters(s)).toEqual({ total: 3, settled: 0, succeeded: 0, unquiescent: 0 });
    expect(entries(s)).toEqual([null, null, null]);
    expect(s.pages).toEqual(['.']);
    expect([cs.everySettled(s), cs.everyQuiescent(s), cs.everySucceeded(s)]).toEqual([
      false,
      false,
      false,
    ]);
    expect(cs.empty(2 * PAGE + 1).pages).toHaveLength(3);
    expect(cs.empty(2 * PAGE).pages).toHaveLength(2);
  });

  it('settles an index once: identical repeats fit, conflicts and out-of-range indices do not', () => {
    const s = cs.settle(cs.empty(3), [at(1, 'failed', false)]);
    expect(entries(s)).toEqual([null, { state: 'failed', quiescent: false }, null]);
    expect(counters(s)).toEqual({ total: 3, settled: 1, succeeded: 0, unquiescent: 1 });
    expect(cs.fits(s, [at(1, 'failed', false)])).toBe(true);
    expect(cs.settle(s, [at(1, 'failed', false)])).toBe(s);
    expect(cs.fits(s, [at(1, 'failed', true)])).toBe(false);
    expect(cs.fits(s, [at(1, 'succeeded', false)])).toBe(false);
    expect(cs.fits(s, [at(0), at(3)])).toBe(false);
    expect(cs.fits(s, [at(-1)])).toBe(false);
    expect(cs.at(s, 3)).toBeNull();
  });

  it('takes an index twice in one batch only when both agree, and counts it once', () => {
    const s = cs.empty(2);
    expect(cs.fits(s, [at(0, 'failed'), at(0, 'succeeded')])).toBe(false);
    expect(cs.fits(s, [at(0, 'failed'), at(1), at(0, 'failed')])).toBe(true);
    const after = cs.settle(s, [at(0, 'failed'), at(1), at(0, 'failed')]);
    expect(counters(after)).toEqual({ total: 2, settled: 2, succeeded: 1, unquiescent: 0 });
    expect(cs.everySettled(after) && cs.everyQuiescent(after)).toBe(true);
    expect(cs.everySucceeded(after)).toBe(false);
  });

  it('quiesces only settled indices that are not quiescent yet', () => {
    const s = cs.settle(cs.empty(3), [at(0, 'cancelled', false), at(1, 'succeeded', true)]);
    expect(cs.awaitQuiescence(s, [0])).toBe(true);
    expect(cs.awaitQuiescence(s, [0, 0])).toBe(true);
    for (const indices of [[1], [2], [3], [0, 2]])
      expect(cs.awaitQuiescence(s, indices)).toBe(false);
    const q = cs.quiesce(s, [0, 0]);
    expect(cs.at(q, 0)).toEqual({ state: 'cancelled', quiescent: true });
    expect(counters(q)).toEqual({ total: 3, settled: 2, succeeded: 1, unquiescent: 0 });
    expect(cs.quiesce(q, [0])).toBe(q);
  });

  it('never changes its input and rewrites only the pages it touches', () => {
    const s = cs.empty(3 * PAGE);
    const copy = JSON.parse(JSON.stringify(s)) as ChunkSettlements;
    const after = cs.settle(s, [at(PAGE + 5, 'failed', false)]);
    expect(s).toEqual(copy);
    expect(after.pages[0]).toBe(s.pages[0]);
    expect(after.pages[2]).toBe(s.pages[2]);
    expect(after.pages[1]).not.toBe(s.pages[1]);
    expect(entries(after).flatMap((e, i) => (e ? [i] : []))).toEqual([PAGE + 5]);
  });

  it('folds a uniform tail into the page fill, so equal contents have equal pages', () => {
    const all = Array.from({ length: PAGE }, (_, i) => at(i));
    const batch = cs.settle(cs.empty(PAGE + 1), all);
    expect(batch.pages).toEqual(['s', '.']);
    let oneByOne = cs.empty(PAGE + 1);
    for (const entry of [...all].reverse()) oneByOne = cs.settle(oneByOne, [entry]);
    expect(oneByOne).toEqual(batch);
    expect(cs.settle(cs.empty(10), [at(0), at(2, 'failed', false)]).pages).toEqual(['.s.F']);
    const last = cs.settle(cs.empty(4), [at(3, 'cancelled')]);
    expect(last.pages).toEqual(['c...']);
    expect(cs.at(last, 3)).toEqual({ state: 'cancelled', quiescent: true });
    expect(cs.at(last, 2)).toBeNull();
  });

  it('handles page boundaries and a short last page, and lists unsettled indices in order', () => {
    const total = PAGE + 3;
    const edges = [0, PAGE - 1, PAGE, PAGE + 2];
    const s = cs.settle(
      cs.empty(total),
      edges.map((i) => at(i, 'failed', false)),
    );
    expect(edges.map((i) => cs.at(s, i))).toEqual(
      edges.map(() => ({ state: 'failed', quiescent: false })),
    );
    expect([1, PAGE - 2, PAGE + 1].map((i) => cs.at(s, i))).toEqual([null, null, null]);
    const open = cs.unsettled(s);
    expect(open).toHaveLength(total - edges.length);
    expect(open.slice(0, 2)).toEqual([1, 2]);
    expect(open.slice(-2)).toEqual([PAGE - 2, PAGE + 1]);
    expect(cs.unsettled(cs.quiesce(s, edges))).toEqual(open);
    expect(counters(cs.quiesce(s, edges))).toMatchObject({ settled: 4, unquiescent: 0 });
  });
});

describe('chunk settlements of a 1,000,000-chunk job', () => {
  const N = 1_000_000;
  const submitted = () =>
    jobFold.evolve(jobFold.initial(), ev('job.submitted', spec({ chunks: N })));

  it('is plain JSON: the snapshot of a fresh job is a few KB, and survives a round trip', () => {
    const job = submitted();
    const json = JSON.stringify(toPlain(job));
    expect(json.length).toBeLessThan(4_000);
    expect(JSON.parse(json).context.chunks).toEqual(job.context.chunks);
  });

  // The bound guards the complexity, not the speed: a fold that copies the 1,000,000 chunks per
  // event would take hours (2·10^10 steps); one that does not takes ~0.2 s alone. 20 s leaves
  // room for a machine under heavy load (it took 2.5 s with a load average of 26 on 2 cores).
  it('settles chunks one event at a time: 20,000 events through the fold without a copy per event', () => {
    const events = Array.from({ length: 20_000 }, (_, i) =>
      ev('job.chunks_settled', { chunks: [at((i * 7919) % N, 'succeeded', false)] }),
    );
    const quiesced = ev('job.chunks_quiesced', { indices: [0, 7919] });
    const start = performance.now();
    const job = jobFold.foldEvents([...events, quiesced], submitted());
    const ms = performance.now() - start;
    expect(ms, `${ms.toFixed(0)} ms`).toBeLessThan(20_000);
    expect(counters(job.context.chunks)).toEqual({
      total: N,
      settled: 20_000,
      succeeded: 20_000,
      unquiescent: 19_998,
    });
    expect(cs.at(job.context.chunks, 7919)).toEqual({ state: 'succeeded', quiescent: true });
  });
});
