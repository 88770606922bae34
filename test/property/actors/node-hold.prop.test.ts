import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  decideNode,
  nodeFold,
  stateName,
  type NodeCommand,
  type NodeSnapshot,
} from '../../../src/actors/index.js';

const by = { kind: 'admin' as const, id: 'ops' };
const registration = (incarnation: string) => ({
  hostname: 'h1',
  cpus: 8,
  memMb: 1024,
  gpus: 0,
  labels: {},
  incarnation,
});

/** Any node command, with data the schemas accept (so only the machine can refuse it). */
const commandArb = fc.oneof(
  fc.record({
    type: fc.constant('RegisterNode' as const),
    data: fc.constantFrom('i1', 'i2', 'i3').map(registration),
  }),
  fc.constant({ type: 'MarkReady' as const }),
  fc.record({
    type: fc.constant('RequestDrain' as const),
    // With an incarnation: the scheduler's drain while an agent stops, no operator's hold.
    data: fc.oneof(
      fc.constant({ reason: 'patch' }),
      fc.constant({ reason: 'stopping', incarnation: 'i1' }),
    ),
  }),
  fc.constant({ type: 'ConfirmDrained' as const }),
  fc.constant({ type: 'Undrain' as const }),
  fc.record({ type: fc.constant('Cordon' as const), data: fc.constant({ reason: 'flaky disk' }) }),
  fc.constant({ type: 'Uncordon' as const }),
  fc.record({ type: fc.constant('MarkLost' as const), data: fc.constant({ reason: 'silent' }) }),
  fc.record({ type: fc.constant('MarkOffline' as const), data: fc.constant({ reason: 'bye' }) }),
) as fc.Arbitrary<Omit<NodeCommand, 'id' | 'at' | 'by'>>;

describe('node machine: the operator hold (pure)', () => {
  /**
   * Against a model of the operator's last word (cordon, drain, or lifted): a node that
   * registers again (agent restart, rejoin after a loss or a clean stop) and turns ready goes
   * back to cordoned or draining when the operator held it, and is `ready` only when nothing holds it.
   */
  test.prop([fc.array(commandArb, { maxLength: 60 })])(
    'registering returns to the hold',
    (commands) => {
      let s: NodeSnapshot = nodeFold.initial();
      let hold: 'cordon' | 'drain' | undefined;
      for (const [i, c] of commands.entries()) {
        const d = decideNode(s, { ...c, id: `c${i}`, at: 1000 + i, by } as NodeCommand);
        if (!d.ok) continue;
        for (const e of d.events) s = nodeFold.evolve(s, e);
        if (c.type === 'Cordon') hold = 'cordon';
        if (c.type === 'RequestDrain' && !('incarnation' in (c.data as object))) hold = 'drain';
        if (c.type === 'Undrain' || c.type === 'Uncordon') hold = undefined;
        const state = stateName(s);
        if (c.type === 'MarkReady')
          expect(state).toBe(
            hold === 'cordon' ? 'cordoned' : hold === 'drain' ? 'draining' : 'ready',
          );
        if (state === 'ready') expect(hold).toBeUndefined();
        expect(s.context.hold?.kind).toBe(hold);
      }
    },
  );
});
