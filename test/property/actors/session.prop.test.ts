import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  decideSession,
  sessionFold,
  stateName,
  type SessionCommand,
  type SessionSnapshot,
} from '../../../src/actors/index.js';

const by = { kind: 'agent' as const, id: 'node-1' };

/** Any session command, with data the schemas accept (so only the machine can refuse it). */
const commandArb: fc.Arbitrary<Omit<SessionCommand, 'id' | 'at' | 'by'>> = fc.oneof(
  fc.record({
    type: fc.constant('OpenSession' as const),
    data: fc.record({
      kind: fc.constantFrom('run' as const, 'alloc' as const),
      user: fc.constant('ada'),
      command: fc.constant(['sh']),
      tty: fc.boolean(),
      cpus: fc.constant(1),
      memMb: fc.constant(64),
      nodes: fc.integer({ min: 1, max: 3 }),
    }),
  }),
  fc.record({
    type: fc.constant('PlaceSession' as const),
    data: fc.record({ node: fc.constantFrom('n1', 'n2', 'n3') }),
  }),
  fc.record({
    type: fc.constant('ResizeSession' as const),
    data: fc.record({
      cols: fc.integer({ min: 1, max: 300 }),
      rows: fc.integer({ min: 1, max: 90 }),
    }),
  }),
  fc.record({ type: fc.constant('StopSession' as const), data: fc.constant({ reason: 'r' }) }),
  fc.record({
    type: fc.constant('EndSession' as const),
    data: fc.constant({ exitCode: 0, signal: null, message: 'm' }),
  }),
) as fc.Arbitrary<Omit<SessionCommand, 'id' | 'at' | 'by'>>;

describe('session machine (pure)', () => {
  /**
   * Random commands through the decider: every event it decides folds (never one the machine
   * refuses), a run is placed at most once and an allocation at most once per node it holds, on
   * distinct nodes, a resize lands only on a pty, and nothing follows the exit.
   */
  test.prop([fc.array(commandArb, { maxLength: 40 })])('decisions always fold', (commands) => {
    let s: SessionSnapshot = sessionFold.initial();
    for (const [i, c] of commands.entries()) {
      const before = stateName(s);
      const d = decideSession(s, { ...c, id: `c${i}`, at: 1000 + i, by } as SessionCommand);
      if (!d.ok) continue;
      expect(before).not.toBe('exited');
      for (const e of d.events) s = sessionFold.evolve(s, e);
      if (c.type === 'ResizeSession') expect(s.context.opened?.tty).toBe(true);
      const { placements, opened } = s.context;
      expect(placements.length).toBeLessThanOrEqual(opened?.nodes ?? 0);
      expect(new Set(placements.map((p) => p.node)).size).toBe(placements.length);
    }
  });
});
