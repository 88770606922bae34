import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  chunkMachine,
  fromPlain,
  stateName,
  type ChunkSnapshot,
} from '../../../src/actors/index.js';
import { stopFor } from '../../../src/node-agent/disowned.js';
import { createLossFence, lastLossSeq } from '../../../src/node-agent/loss-fence.js';

type State = 'assigned' | 'running' | 'cancelling' | 'retry_wait' | 'succeeded';

/** A chunk whose current attempt is `attempt`, in `state`. */
function chunkAt(state: State, attempt: number): ChunkSnapshot {
  const context = {
    jobId: 'j',
    index: 0,
    total: 1,
    attempt,
    resultsCleared: false,
    unconfirmed: [],
    attempts: [],
  };
  return fromPlain(chunkMachine, { value: state, context });
}

describe('stopFor', () => {
  it('keeps the live attempt, stops others, and cancels a cancelling one', () => {
    expect(stopFor(chunkAt('running', 2), 2)).toBeUndefined();
    expect(stopFor(chunkAt('assigned', 2), 2)).toBeUndefined();
    expect(stopFor(chunkAt('running', 3), 2)).toBe('terminate');
    expect(stopFor(chunkAt('retry_wait', 2), 2)).toBe('terminate');
    expect(stopFor(chunkAt('succeeded', 2), 2)).toBe('terminate');
    expect(stopFor(chunkAt('cancelling', 2), 2)).toBe('cancel');
  });

  it('stops the live attempt a loss gave up, as a cancel while it is being cancelled', () => {
    // The watchdog's failure of the attempt is not in the log yet: the chunk still names it.
    expect(stopFor(chunkAt('running', 2), 2, true)).toBe('terminate');
    expect(stopFor(chunkAt('assigned', 2), 2, true)).toBe('terminate');
    // A cancelling chunk ends only on its cancel's confirmation (the watchdog leaves it be).
    expect(stopFor(chunkAt('cancelling', 2), 2, true)).toBe('cancel');
  });

  test.prop([
    fc.constantFrom<State>('assigned', 'running', 'cancelling', 'retry_wait', 'succeeded'),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
  ])('a loss only ever adds stops, never takes one back', (state, current, attempt) => {
    const chunk = chunkAt(state, current);
    expect(stateName(chunk)).toBe(state);
    const plain = stopFor(chunk, attempt);
    const lost = stopFor(chunk, attempt, true);
    if (plain !== undefined) expect(lost).toBe(plain);
    else expect(lost).toBe('terminate');
  });
});

describe('the loss fence', () => {
  it('gives up attempts assigned before the latest loss only', () => {
    const fence = createLossFence();
    expect(fence.givesUp(10)).toBe(false);
    fence.raise(50);
    fence.raise(20); // an older loss changes nothing
    expect(fence.seq).toBe(50);
    expect(fence.givesUp(49)).toBe(true);
    expect(fence.givesUp(51)).toBe(false);
    expect(fence.givesUp(undefined)).toBe(false);
  });

  it('reads the latest node.lost of a history', () => {
    const e = (type: string, seq: number) => ({ type, recorded: { seq } });
    expect(lastLossSeq([e('node.registered', 1), e('node.ready', 2)])).toBe(0);
    expect(
      lastLossSeq([
        e('node.lost', 5),
        e('node.registered', 7),
        e('node.lost', 9),
        e('node.ready', 11),
      ]),
    ).toBe(9);
  });
});
