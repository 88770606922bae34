import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { RecentIdText, type RecentIds } from '../../../src/actors/index.js';
import { withIds } from '../../../src/actors/recent-ids.js';

/**
 * The runtime's recent-ids window as one string must answer as the Set window it replaced (add in
 * order, drop the oldest beyond the maximum), for any ids, NUL and separators-like text included.
 */
const idArb = fc.oneof(
  fc.constantFrom('a', 'b', 'a#0', 'submit:j1#0', 'queue:j1#0', '', '#0'),
  fc.string({ maxLength: 6 }),
  fc.constant('x\u0000y'),
);

function setWindow(ids: Set<string>, added: readonly string[], max: number): void {
  for (const id of added) {
    ids.add(id);
    if (ids.size > max) ids.delete(ids.values().next().value as string);
  }
}

describe('recent ids as text', () => {
  test.prop(
    [
      fc.array(fc.array(idArb, { maxLength: 8 }), { maxLength: 20 }),
      fc.integer({ min: 1, max: 10 }),
      fc.array(idArb, { maxLength: 10 }),
    ],
    { numRuns: 500 },
  )('answers has() as the Set window does', (batches, max, probes) => {
    // Distinct ids only (event ids are unique per entity): the Set window counts each once.
    const seen = new Set<string>();
    const unique = batches.map((b) => b.filter((id) => !seen.has(id) && (seen.add(id), true)));
    let w: RecentIds = RecentIdText.EMPTY;
    const ref = new Set<string>();
    for (const batch of unique) {
      w = withIds(w, batch, max);
      setWindow(ref, batch, max);
      expect(w.size).toBe(ref.size);
      for (const id of [...probes, ...seen])
        expect(w.has(id), JSON.stringify(id)).toBe(ref.has(id));
    }
  });

  it('keeps one flat string, not a Set, for plain ids', () => {
    const w = withIds(RecentIdText.EMPTY, ['submit:j1#0', 'queue:j1#0'], 256);
    expect(w).toBeInstanceOf(RecentIdText);
    expect(w.has('queue:j1#0')).toBe(true);
    expect(w.has('queue:j1')).toBe(false);
    expect(w.has('submit:j1#0\u0000queue:j1#0')).toBe(false);
  });
});
