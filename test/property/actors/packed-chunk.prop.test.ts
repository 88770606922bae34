import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  RECENT_IDS,
  RecentIdText,
  chunkFold,
  createdChunkPacker,
  type ChunkSnapshot,
  type Loaded,
} from '../../../src/actors/index.js';
import { withIds } from '../../../src/actors/recent-ids.js';
import { parseChunkId, type DroverEvent } from '../../../src/events/index.js';
import { chunkEventArb, chunkIdArb } from '../../support/arbitraries.js';

/**
 * The scheduler's cache holds a created chunk nothing has happened to as a number
 * (`createdChunkPacker`). Whatever the chunk's history, a packed chunk must read back deep-equal
 * to what was cached (state, context, sequence, recent ids, epoch), and the queue's common case
 * (the intake's `chunk.created` alone) must be packed, else the cache saves nothing.
 */
const { pack, unpack } = createdChunkPacker;

/** A loaded chunk as the runtime folds it: the events its machine takes, their ids and epochs. */
function loadedOf(
  events: readonly { event: DroverEvent; epoch: number }[],
  lastSeq: number,
): Loaded<ChunkSnapshot> {
  let state = chunkFold.initial();
  let eventIds = RecentIdText.EMPTY as Loaded<ChunkSnapshot>['eventIds'];
  let epoch = 0;
  for (const { event, epoch: e } of events) {
    const next = chunkFold.tryEvolve(state, event);
    if (!next) continue;
    state = next;
    eventIds = withIds(eventIds, [event.id], RECENT_IDS);
    epoch = Math.max(epoch, e);
  }
  return { state, lastSeq, eventIds, epoch };
}

const created = (id: string, total: number, eventId = `create:${id}#0`) => {
  const { jobId, index } = parseChunkId(id);
  return {
    type: 'chunk.created',
    v: 1,
    id: eventId,
    at: 0,
    by: { kind: 'scheduler', id: 's' },
    data: { jobId, index, total },
  } as unknown as DroverEvent;
};

const epochArb = fc.oneof(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 5000 }));
const totalArb = fc.oneof(fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1, max: 5000 }));
const seqArb = fc.oneof(
  fc.integer({ min: 1, max: 2 ** 33 - 1 }),
  fc.constantFrom(1, 2 ** 33 - 1, 2 ** 33),
);

describe('created chunks packed into a number', () => {
  test.prop(
    [
      chunkIdArb,
      totalArb,
      epochArb,
      seqArb,
      fc.boolean(),
      fc.array(fc.tuple(chunkEventArb, epochArb), { maxLength: 6 }),
    ],
    { numRuns: 1000 },
  )('read back deep-equal to what was cached', (id, total, epoch, seq, intakeId, later) => {
    const first = created(id, total, intakeId ? undefined : `other:${id}#0`);
    const history = [{ event: first, epoch }, ...later.map(([event, e]) => ({ event, epoch: e }))];
    const loaded = loadedOf(history, seq);
    const packed = pack(id, loaded);
    if (packed !== undefined) {
      expect(Number.isSafeInteger(packed)).toBe(true);
      expect(unpack(id, packed)).toStrictEqual(loaded);
    }
  });

  test.prop([
    chunkIdArb,
    fc.integer({ min: 1, max: 1024 }),
    fc.integer({ min: 0, max: 1023 }),
    fc.integer({ min: 1, max: 2 ** 33 - 1 }),
  ])('packs the queue: a chunk the intake created, nothing since', (id, total, epoch, seq) => {
    const loaded = loadedOf([{ event: created(id, total), epoch }], seq);
    const packed = pack(id, loaded);
    expect(packed).toBeTypeOf('number');
    expect(unpack(id, packed!)).toStrictEqual(loaded);
  });

  it('keeps a chunk that was assigned, or cached under another id, as it is', () => {
    const loaded = loadedOf([{ event: created('j1:0', 1), epoch: 1 }], 5);
    expect(pack('j1:0', loaded)).toBeTypeOf('number');
    expect(pack('j2:0', loaded)).toBeUndefined();
    const assigned = {
      type: 'chunk.assigned',
      v: 1,
      id: 'assign:j1:0:1#0',
      at: 1,
      by: { kind: 'scheduler', id: 's', epoch: 1 },
      data: { attempt: 1, node: 'n1', worker: 'j1:0:1', request: { cpus: 1, memMb: 1, gpus: 0 } },
    } as unknown as DroverEvent;
    const later = loadedOf(
      [
        { event: created('j1:0', 1), epoch: 1 },
        { event: assigned, epoch: 1 },
      ],
      6,
    );
    expect(later.state.value).toBe('assigned');
    expect(pack('j1:0', later)).toBeUndefined();
  });
});
