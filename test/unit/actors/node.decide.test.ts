import { describe, expect, it } from 'vitest';
import { nodeBehaviour } from '../../../src/actors/index.js';
import type { NodeCommand } from '../../../src/actors/index.js';
import { deciderSpec, ev, meta } from '../../support/decider-spec.js';

const node = deciderSpec(nodeBehaviour);
const cmd = (c: Omit<NodeCommand, 'id' | 'at' | 'by'>): NodeCommand =>
  ({ ...meta(), ...c }) as NodeCommand;
const registration = (incarnation: string) => ({
  hostname: 'h1',
  cpus: 8,
  memMb: 16_384,
  gpus: 0,
  labels: { rack: 'a' },
  incarnation,
});
const ready = () => [ev('node.registered', registration('i1')), ev('node.ready', {})];

describe('node decider', () => {
  it('registers and becomes ready', () => {
    const s = node
      .given([])
      .when(cmd({ type: 'RegisterNode', data: registration('i1') }))
      .then([{ type: 'node.registered', data: registration('i1') }]);
    expect(s.value).toBe('registering');
    expect(s.context).toMatchObject(registration('i1'));
    expect(
      node
        .given([ev('node.registered', registration('i1'))])
        .when(cmd({ type: 'MarkReady' }))
        .then([{ type: 'node.ready' }]).value,
    ).toBe('ready');
  });

  it('registers again from any state: an agent restart brings a new incarnation', () => {
    for (const extra of [
      [],
      [ev('node.lost', { reason: 'silent' })],
      [ev('node.offline', { reason: 'bye' })],
    ]) {
      const s = node
        .given([...ready(), ...extra])
        .when(cmd({ type: 'RegisterNode', data: registration('i2') }))
        .then([{ type: 'node.registered', data: registration('i2') }]);
      expect(s.value).toBe('registering');
      expect(s.context.incarnation).toBe('i2');
      expect(s.context.reason).toBeUndefined();
    }
  });

  it('drains, undrains, cordons and uncordons', () => {
    const draining = node
      .given(ready())
      .when(cmd({ type: 'RequestDrain', data: { reason: 'patch' } }))
      .then([{ type: 'node.drain_requested', data: { reason: 'patch' } }]);
    expect(draining.context.reason).toBe('patch');
    node
      .given([...ready(), ev('node.drain_requested', { reason: 'p' })])
      .when(cmd({ type: 'ConfirmDrained' }))
      .then([{ type: 'node.drained' }]);
    const undrained = node
      .given([...ready(), ev('node.drain_requested', { reason: 'p' }), ev('node.drained', {})])
      .when(cmd({ type: 'Undrain' }));
    expect(undrained.then([{ type: 'node.undrained' }]).value).toBe('ready');
    const cordoned = [...ready(), ev('node.cordoned', { reason: 'flaky' })];
    node
      .given(cordoned)
      .when(cmd({ type: 'Uncordon' }))
      .then([{ type: 'node.uncordoned' }]);
    node
      .given(cordoned)
      .when(cmd({ type: 'RequestDrain', data: { reason: 'p' } }))
      .then([{ type: 'node.drain_requested', data: { reason: 'p' } }]);
  });

  it('a lost node only goes offline or registers again', () => {
    const lost = [...ready(), ev('node.lost', { reason: 'silent', lastHeartbeatAt: 5 })];
    node
      .given(lost)
      .when(cmd({ type: 'MarkReady' }))
      .thenRejected('InvalidTransition');
    node
      .given(lost)
      .when(cmd({ type: 'Cordon', data: { reason: 'x' } }))
      .thenRejected('InvalidTransition');
    node
      .given(lost)
      .when(cmd({ type: 'MarkOffline', data: { reason: 'decommissioned' } }))
      .then([{ type: 'node.offline', data: { reason: 'decommissioned' } }]);
    node
      .given([])
      .when(cmd({ type: 'MarkLost', data: { reason: 'x' } }))
      .thenRejected('InvalidTransition');
  });
});
