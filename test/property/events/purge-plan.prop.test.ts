import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import {
  PURGE_ORDER,
  createPurgeTally,
  planPurge,
  tallyForPurge,
} from '../../../src/events/purge-plan.js';
import { entityOfSubject, eventSubject } from '../../../src/events/subjects.js';
import type { Entity } from '../../../src/events/envelope.js';

interface Msg {
  readonly subject: string;
  readonly seq: number;
}

/**
 * A live log after earlier purges (sequences with gaps): messages of a few entities of the kinds
 * a compaction moves and of one that never moves (node), each entity moved or not as a whole.
 */
const logs = fc
  .record({
    entities: fc.array(
      fc.record({
        kind: fc.constantFrom<Entity>('job', 'chunk', 'worker', 'node'),
        moved: fc.boolean(),
      }),
      { minLength: 1, maxLength: 8 },
    ),
    picks: fc.array(fc.record({ entity: fc.nat(), gap: fc.integer({ min: 1, max: 3 }) }), {
      minLength: 1,
      maxLength: 60,
    }),
  })
  .map(({ entities, picks }) => {
    const subjects = entities.map((e, i) => eventSubject(e.kind, `e${i}`));
    const moved = new Set(
      subjects.filter((s, i) => entities[i]!.moved && entities[i]!.kind !== 'node'),
    );
    let seq = 0;
    const log: Msg[] = picks.map((p) => ({
      subject: subjects[p.entity % subjects.length]!,
      seq: (seq += p.gap),
    }));
    return { log, moved, endSeq: seq };
  });

/** What the planned calls remove from `log`: each kind's prefix, then its listed subjects. */
function purgedBy(log: readonly Msg[], moved: ReadonlySet<string>, endSeq: number): Msg[] {
  const t = createPurgeTally();
  for (const m of log) tallyForPurge(t, m.subject, m.seq, moved.has(m.subject));
  const gone = new Set<Msg>();
  for (const k of planPurge(t, endSeq)) {
    for (const m of log) {
      const ofKind = entityOfSubject(m.subject) === k.kind;
      if (k.prefix && ofKind && m.seq < k.prefix.beforeSeq) gone.add(m);
      if (k.subjects.includes(m.subject) && m.seq <= endSeq) gone.add(m);
    }
  }
  return log.filter((m) => gone.has(m));
}

describe('purge plan', () => {
  test.prop([logs])(
    'removes exactly the moved messages, nothing that stays',
    ({ log, moved, endSeq }) => {
      expect(purgedBy(log, moved, endSeq)).toEqual(log.filter((m) => moved.has(m.subject)));
    },
  );

  test.prop([logs])(
    'each prefix counts the messages below its cut; kinds come jobs last',
    ({ log, moved, endSeq }) => {
      const t = createPurgeTally();
      for (const m of log) tallyForPurge(t, m.subject, m.seq, moved.has(m.subject));
      const plan = planPurge(t, endSeq);
      for (const k of plan) {
        if (!k.prefix) continue;
        const below = log.filter(
          (m) => entityOfSubject(m.subject) === k.kind && m.seq < k.prefix!.beforeSeq,
        );
        expect(k.prefix.messages).toBe(below.length);
        expect(k.prefix.beforeSeq).toBeLessThanOrEqual(endSeq + 1);
      }
      const order = plan.map((k) => PURGE_ORDER.indexOf(k.kind));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(plan.map((k) => k.kind)).not.toContain('node');
    },
  );
});
