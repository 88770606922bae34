import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect } from 'vitest';
import type { RecordedEvent } from '../../../src/events/index.js';
import {
  allProjections,
  checkpointsOf,
  createProjectionSet,
  decodeCheckpoint,
  encodeCheckpoint,
  foldItems,
  type Checkpoint,
  type Projection,
} from '../../../src/projections/index.js';
import { farmHistory, recordAll } from '../../support/projection-history.js';

const projections = allProjections();

function rebuild(p: Projection<unknown>, events: readonly RecordedEvent[]): unknown {
  let s = p.initial();
  for (const e of events) s = p.apply(s, e);
  return p.snapshot(s);
}

/**
 * Plausible farm histories, perturbed: some events dropped, some duplicated (a re-delivered
 * message gets a new sequence), some swapped with their neighbour: projections must fold any log.
 */
const historyArb = fc
  .record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    jobs: fc.integer({ min: 0, max: 12 }),
    users: fc.integer({ min: 1, max: 4 }),
    edits: fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('drop', 'dup', 'swap') }), {
      maxLength: 6,
    }),
  })
  .map(({ seed, jobs, users, edits }) => {
    const entries = farmHistory(seed, { jobs, users });
    for (const { at, op } of edits) {
      if (entries.length < 2) break;
      const i = at % (entries.length - 1);
      if (op === 'drop') entries.splice(i, 1);
      else if (op === 'dup') entries.splice(i, 0, entries[i]!);
      else [entries[i], entries[i + 1]] = [entries[i + 1]!, entries[i]!];
    }
    return recordAll(entries);
  });

describe('projections: rebuild, incremental and checkpoint resume agree', () => {
  test.prop([historyArb, fc.array(fc.nat(), { maxLength: 8 })], { numRuns: 150 })(
    'folding in batches of any sizes (through the set) equals rebuilding from zero',
    (events, cuts) => {
      const set = createProjectionSet(projections);
      const points = [...new Set(cuts.map((c) => c % (events.length + 1)))].sort((a, b) => a - b);
      let from = 0;
      for (const p of [...points, events.length]) {
        foldItems(set, events.slice(from, p));
        from = p;
      }
      const incremental = checkpointsOf(set);
      for (const [i, p] of projections.entries()) {
        expect(incremental[i]!.state).toEqual(rebuild(p, events));
      }
      expect(set.events).toBe(events.length);
    },
  );

  test.prop([historyArb, fc.nat(), fc.constantFrom('json', 'msgpack')], { numRuns: 150 })(
    'resuming from a checkpoint (JSON or msgpack round trip) at a random cut equals a rebuild',
    (events, cutAt, codec) => {
      const cut = cutAt % (events.length + 1);
      const first = createProjectionSet(projections);
      foldItems(first, events.slice(0, cut));
      const saved = new Map<string, Checkpoint>();
      for (const cp of checkpointsOf(first)) {
        const back =
          codec === 'json'
            ? (JSON.parse(JSON.stringify(cp)) as Checkpoint)
            : decodeCheckpoint(encodeCheckpoint(cp))!;
        saved.set(`${cp.name}-v${cp.version}`, back);
      }
      const resumed = createProjectionSet(projections, saved);
      // Re-delivery of the whole log is harmless: each slot skips what its checkpoint holds.
      foldItems(resumed, events);
      for (const [i, p] of projections.entries()) {
        expect(checkpointsOf(resumed)[i]!.state).toEqual(rebuild(p, events));
      }
    },
  );

  test.prop([historyArb], { numRuns: 100 })(
    'snapshots are plain JSON (a round trip is identity)',
    (events) => {
      const set = createProjectionSet(projections);
      foldItems(set, events);
      for (const cp of checkpointsOf(set)) {
        expect(JSON.parse(JSON.stringify(cp.state))).toEqual(cp.state);
        const packr = new Packr({ useRecords: false, mapsAsObjects: true });
        expect(packr.unpack(packr.pack(cp.state))).toEqual(cp.state);
      }
    },
  );
});
