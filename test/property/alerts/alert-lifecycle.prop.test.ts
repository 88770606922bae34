import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  defaultAlertRules,
  planAlertRound,
  type AlertOccurrence,
  type AlertRules,
  type Observation,
} from '../../../src/policy/alerts/index.js';

type Level = Observation['level'] | 'absent';
interface Round {
  readonly at: number;
  readonly level: Level;
}

/** Rounds at increasing times (1..40 s apart), each level drawn at random. */
const roundsArb = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 1_000, max: 40_000 }),
      level: fc.constantFrom<Level>('active', 'hold', 'clear', 'absent'),
    }),
    { maxLength: 80 },
  )
  .map((xs) => {
    let at = 1_000_000;
    return xs.map(({ dt, level }) => ({ at: (at += dt), level }));
  });
const timingArb = fc.record({
  forMs: fc.constantFrom(0, 10_000, 60_000),
  clearForMs: fc.constantFrom(0, 15_000, 90_000),
});

const rulesWith = (forMs: number, clearFor: number): AlertRules => {
  const r = defaultAlertRules();
  return { ...r, swapping: { ...r.swapping, for: forMs, clearFor } };
};

interface Transition {
  readonly at: number;
  readonly id: string;
  readonly kind: string;
}

/** Run the planner over `rounds` for one rule and key, folding its steps as the machine would. */
function simulate(rounds: readonly Round[], rules: AlertRules) {
  const occ = new Map<string, { -readonly [K in keyof AlertOccurrence]: AlertOccurrence[K] }>();
  let clearSince = new Map<string, number>();
  const log: Transition[] = [];
  for (const { at, level } of rounds) {
    const obs: Observation[] =
      level === 'absent'
        ? []
        : [{ rule: 'swapping', key: 'farm', level, summary: level, details: {} }];
    const out = planAlertRound([...occ.values()], obs, clearSince, rules, at);
    clearSince = out.clearSince;
    for (const s of out.steps) {
      log.push({ at, id: s.id, kind: s.kind });
      const o = occ.get(s.id);
      if (s.kind === 'open') {
        expect(o, `${s.id} opened twice`).toBeUndefined();
        occ.set(s.id, {
          id: s.id,
          rule: 'swapping',
          key: 'farm',
          state: 'pending',
          openedAt: at,
          n: occ.size + 1,
        });
      } else {
        const from = { fire: 'pending', resolve: 'firing', withdraw: 'pending' }[s.kind];
        expect(o?.state, `${s.kind} of ${s.id} from ${o?.state}`).toBe(from);
        o!.state = { fire: 'firing', resolve: 'resolved', withdraw: 'withdrawn' }[s.kind];
      }
    }
  }
  return { log, occ };
}

/** The rounds in [from, to] (both included). */
const between = (rounds: readonly Round[], from: number, to: number) =>
  rounds.filter((r) => r.at >= from && r.at <= to);

describe('alert lifecycle (planAlertRound) on random condition sequences', () => {
  test.prop([roundsArb, timingArb], { numRuns: 2000 })(
    'fires only after `for` of active rounds, resolves only after `clearFor` of clear rounds',
    (rounds, { forMs, clearForMs }) => {
      const { log } = simulate(rounds, rulesWith(forMs, clearForMs));
      const openedAt = new Map(log.filter((t) => t.kind === 'open').map((t) => [t.id, t.at]));
      for (const t of log) {
        if (t.kind === 'fire') {
          const from = openedAt.get(t.id)!;
          expect(t.at - from).toBeGreaterThanOrEqual(forMs);
          expect(between(rounds, from, t.at).every((r) => r.level === 'active')).toBe(true);
        }
        if (t.kind === 'resolve') {
          const window = between(rounds, t.at - clearForMs, t.at);
          expect(window.every((r) => r.level === 'clear' || r.level === 'absent')).toBe(true);
          // The clear stretch began at or before t - clearFor: a round before it was clear too,
          // or the first clear round of the stretch is at least clearFor ago.
          const before = rounds.filter((r) => r.at <= t.at);
          let i = before.length - 1;
          while (i > 0 && ['clear', 'absent'].includes(before[i - 1]!.level)) i--;
          expect(t.at - before[i]!.at).toBeGreaterThanOrEqual(clearForMs);
        }
      }
    },
  );

  test.prop([roundsArb, timingArb], { numRuns: 2000 })(
    'no flapping: at most one firing per stretch of active rounds lasting `for`',
    (rounds, { forMs, clearForMs }) => {
      const { log } = simulate(rounds, rulesWith(forMs, clearForMs));
      // Maximal stretches of consecutive active rounds that last at least `for`.
      let stretches = 0;
      for (let i = 0; i < rounds.length;) {
        if (rounds[i]!.level !== 'active') {
          i++;
          continue;
        }
        let j = i;
        while (j + 1 < rounds.length && rounds[j + 1]!.level === 'active') j++;
        if (rounds[j]!.at - rounds[i]!.at >= forMs) stretches++;
        i = j + 1;
      }
      const fires = log.filter((t) => t.kind === 'fire').length;
      const resolves = log.filter((t) => t.kind === 'resolve').length;
      expect(fires).toBeLessThanOrEqual(stretches);
      expect(resolves).toBeLessThanOrEqual(fires);
      // Between two firings the condition was clear for clearFor (a resolve came between).
      const kinds = log.filter((t) => t.kind === 'fire' || t.kind === 'resolve').map((t) => t.kind);
      expect(kinds.join(',')).not.toMatch(/fire,fire/);
    },
  );

  test.prop([roundsArb, timingArb], { numRuns: 2000 })(
    'resolves by itself: after clear rounds spanning clearFor nothing is live; after active ones spanning for it fires',
    (rounds, { forMs, clearForMs }) => {
      const rules = rulesWith(forMs, clearForMs);
      const last = rounds[rounds.length - 1]?.at ?? 1_000_000;
      const tailClear = [1, 2, 3].map((k) => ({
        at: last + k * (clearForMs / 2 + 1000),
        level: 'clear' as const,
      }));
      const cleared = simulate([...rounds, ...tailClear], rules);
      expect(
        [...cleared.occ.values()].filter((o) => o.state === 'firing' || o.state === 'pending'),
      ).toEqual([]);
      const tailActive = [1, 2, 3].map((k) => ({
        at: last + k * (forMs / 2 + 1000),
        level: 'active' as const,
      }));
      const active = simulate([...rounds, ...tailActive], rules);
      expect([...active.occ.values()].filter((o) => o.state === 'firing')).toHaveLength(1);
    },
  );
});
