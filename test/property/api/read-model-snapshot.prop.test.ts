import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyReadModel, type ReadModel } from '../../../src/api/read-model.js';
import {
  plainReadModel,
  READ_MODEL_FORMAT,
  readModelFingerprint,
  restoreReadModel,
  SnapshotShapeError,
  type PlainReadModel,
} from '../../../src/api/read-model-snapshot.js';
import {
  eventCatalog,
  type DroverEvent,
  type Entity,
  type RecordedEvent,
} from '../../../src/events/index.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/projections/index.js';
import { anyEventArb } from '../../support/arbitraries.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

/** A few ids per entity kind, so random events meet entities that exist. */
const ID_OF: Partial<Record<Entity, readonly string[]>> = {
  job: ['rj1', 'rj2'],
  chunk: ['rj1:0', 'rj2:1'],
  worker: ['rj1:0:1', 'rj2:1:1'],
};

function fold(events: readonly RecordedEvent[], from: ReadModel = emptyReadModel()): ReadModel {
  for (const e of events) applyEvent(from, e);
  return from;
}

/** Through the codec the store uses (msgpack of a checkpoint), as a snapshot goes to KV. */
function roundTrip(model: ReadModel): ReadModel {
  const bytes = encodeCheckpoint({
    name: 'read-model',
    version: READ_MODEL_FORMAT,
    seq: model.seq,
    state: plainReadModel(model) as never,
  });
  const cp = decodeCheckpoint(bytes);
  if (!cp) throw new Error('snapshot did not decode');
  return restoreReadModel(cp.state as unknown as PlainReadModel);
}

/** A farm history with random events of every kind mixed in (most refused, some not). */
const historyArb = fc
  .record({
    seed: fc.integer({ min: 1, max: 10_000 }),
    jobs: fc.integer({ min: 1, max: 12 }),
    extra: fc.array(fc.tuple(anyEventArb, fc.nat(1), fc.nat()), { maxLength: 40 }),
  })
  .map(({ seed, jobs, extra }) => {
    const entries = farmHistory(seed, { jobs, tag: `p${seed}` }).map((x) => ({ ...x }));
    for (const [event, which, at] of extra) {
      const entity = eventCatalog.get(event.type)?.entity as Entity;
      const id = ID_OF[entity]?.[which] ?? `x${which}`;
      entries.splice(at % (entries.length + 1), 0, { entity, id, event: event as DroverEvent });
    }
    return recordAll(entries);
  });

describe('read model start-up snapshot', () => {
  it('a model restored from a snapshot of a prefix, then folded on, equals the full fold', () => {
    fc.assert(
      fc.property(historyArb, fc.double({ min: 0, max: 1, noNaN: true }), (events, at) => {
        const full = fold(events);
        // fast-check's doubles favour the ends: the middle cuts, where work is live, always too.
        const n = events.length;
        for (const cut of [Math.floor(at * n), n >> 2, n >> 1, (3 * n) >> 2]) {
          const prefix = fold(events.slice(0, cut));
          const restored = roundTrip(prefix);
          // The snapshot itself loses nothing (live chunks, worker times, proofs included)...
          expect(plainReadModel(restored)).toEqual(plainReadModel(prefix));
          // ...and the fold goes on from it exactly as from the model it was taken of.
          const resumed = fold(events.slice(cut), restored);
          expect(plainReadModel(resumed)).toEqual(plainReadModel(full));
          expect(resumed.seq).toBe(full.seq);
          expect(resumed.skipped).toBe(full.skipped);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('keeps every entity kind, worker times, promise proofs and live chunks', () => {
    const events = recordAll(farmHistory(7, { jobs: 20, tag: 'k' }));
    // Half-way: chunks are running, workers started and not ended.
    const model = fold(events.slice(0, Math.floor(events.length / 2)));
    expect(model.liveChunks.size).toBeGreaterThan(0);
    const back = roundTrip(model);
    expect(back.jobs.size).toBeGreaterThan(0);
    expect(back.workers.size).toBe(model.workers.size);
    for (const [id, w] of model.workers) {
      const r = back.workers.get(id);
      expect(r?.startedAt).toBe(w.startedAt);
      expect(r?.endedAt).toBe(w.endedAt);
      expect(r?.snapshot.value).toEqual(w.snapshot.value);
    }
    expect([...back.liveChunks]).toEqual([...model.liveChunks]);
    // A restored snapshot is a real machine snapshot: the fold goes on from it.
    const job = [...back.jobs.values()][0];
    expect(typeof job?.can).toBe('function');
  });

  it('refuses a snapshot of another shape, naming the field', () => {
    const plain = plainReadModel(fold(recordAll(farmHistory(3, { jobs: 2, tag: 's' }))));
    const bad = { ...plain, entities: { ...plain.entities, workers: 'x' } };
    expect(() => restoreReadModel(bad as never)).toThrow(SnapshotShapeError);
    expect(() => restoreReadModel(bad as never)).toThrow(/entities\.workers/);
    expect(() => restoreReadModel({ ...plain, seq: -1 })).toThrow(/seq/);
  });

  it('names the format and the folds in its fingerprint (stable within a build)', () => {
    expect(readModelFingerprint()).toMatch(/^[0-9a-f]{16}$/);
    expect(readModelFingerprint()).toBe(readModelFingerprint());
  });
});
