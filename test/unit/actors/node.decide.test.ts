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

  it('a restart or a rejoin keeps the operator cordon and drain; an agent-stop drain lapses', () => {
    const again = [ev('node.registered', registration('i2'))];
    const cordoned = node
      .given([
        ...ready(),
        ev('node.cordoned', { reason: 'flaky' }),
        ev('node.lost', { reason: 's' }),
        ...again,
      ])
      .when(cmd({ type: 'MarkReady' }))
      .then([{ type: 'node.ready' }]);
    expect(cordoned.value).toBe('cordoned');
    expect(cordoned.context.reason).toBe('flaky');
    const drained = [
      ...ready(),
      ev('node.drain_requested', { reason: 'patch' }),
      ev('node.drained', {}),
    ];
    const draining = node
      .given([...drained, ...again])
      .when(cmd({ type: 'MarkReady' }))
      .then([{ type: 'node.ready' }]);
    expect(draining.value).toBe('draining');
    expect(draining.context.reason).toBe('patch');
    // Undrained, then restarted: ready again.
    expect(
      node
        .given([...drained, ev('node.undrained', {}), ...again])
        .when(cmd({ type: 'MarkReady' }))
        .then([{ type: 'node.ready' }]).value,
    ).toBe('ready');
    // The scheduler's drain while the agent stopped (scoped to its incarnation) does not outlive it.
    const stopped = [
      ...ready(),
      ev('node.drain_requested', { reason: 'stopping', incarnation: 'i1' }),
      ev('node.offline', { reason: 'bye' }),
    ];
    expect(
      node
        .given([...stopped, ...again])
        .when(cmd({ type: 'MarkReady' }))
        .then([{ type: 'node.ready' }]).value,
    ).toBe('ready');
    // ...nor lifts the operator's cordon under it.
    const both = [
      ...ready(),
      ev('node.cordoned', { reason: 'flaky' }),
      ev('node.drain_requested', { reason: 'stopping', incarnation: 'i1' }),
      ev('node.offline', { reason: 'bye' }),
    ];
    expect(
      node
        .given([...both, ...again])
        .when(cmd({ type: 'MarkReady' }))
        .then([{ type: 'node.ready' }]).value,
    ).toBe('cordoned');
  });
});
