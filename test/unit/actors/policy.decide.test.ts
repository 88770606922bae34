import { describe, expect, it } from 'vitest';
import {
  decidePolicy,
  policyFold,
  type PolicyCommand,
  type PolicySnapshot,
} from '../../../src/actors/index.js';
import { defaultFairShareConfig, fairShareConfigOf } from '../../../src/policy/index.js';
import { meta } from '../../support/decider-spec.js';

const admin = { kind: 'admin' as const, id: 'ada' };

/** Decide `c` on `s` and fold what it decides: the state after and the event types. */
function step(s: PolicySnapshot, c: PolicyCommand) {
  const d = decidePolicy(s, c);
  if (!d.ok) throw new Error(d.rejection.message);
  return { state: d.events.reduce(policyFold.evolve, s), types: d.events.map((e) => e.type) };
}
const cmd = <T extends PolicyCommand['type']>(
  type: T,
  data: Extract<PolicyCommand, { type: T }>['data'],
) => ({ type, ...meta(admin), data }) as PolicyCommand;

describe('policy decider: every real change is the next version, a non-change is nothing', () => {
  it('versions weights and config, and overlays them on the defaults', () => {
    let s = policyFold.initial();
    const w = step(s, cmd('SetWeight', { user: 'alice', weight: 2, reason: 'deadline' }));
    expect(w.types).toEqual(['policy.weight_set']);
    s = w.state;
    expect(s.context.version).toBe(1);
    expect(step(s, cmd('SetWeight', { user: 'alice', weight: 2 })).types).toEqual([]);
    s = step(s, cmd('ConfigureFairshare', { halfLifeS: 3600, lambda: 0 })).state;
    s = step(s, cmd('SetWeight', { user: '__proto__', weight: 5 })).state;
    expect(s.context.version).toBe(3);
    const { version, config } = fairShareConfigOf(s.context, defaultFairShareConfig);
    expect(version).toBe(3);
    expect(config).toMatchObject({ halfLifeS: 3600, lambda: 0 });
    expect(Object.getPrototypeOf(config.weights)).toBe(Object.prototype);
    expect(Object.entries(config.weights)).toEqual([
      ['alice', 2],
      ['__proto__', 5],
    ]);
    expect(fairShareConfigOf(policyFold.initial().context, defaultFairShareConfig)).toEqual({
      version: 0,
      config: defaultFairShareConfig,
    });
  });

  it('sets, replaces and clears quotas; clearing an absent one decides nothing', () => {
    let s = policyFold.initial();
    expect(step(s, cmd('ClearQuota', { user: 'bob' })).types).toEqual([]);
    s = step(s, cmd('SetQuota', { user: 'bob', limits: { cpus: 4 } })).state;
    expect(step(s, cmd('SetQuota', { user: 'bob', limits: { cpus: 4 } })).types).toEqual([]);
    s = step(s, cmd('SetQuota', { user: 'bob', limits: { cpus: 2, launchesPerMin: 5 } })).state;
    expect(s.context.quotas).toEqual({ bob: { cpus: 2, launchesPerMin: 5 } });
    s = step(s, cmd('ClearQuota', { user: 'bob', reason: 'done' })).state;
    expect(s.context).toMatchObject({ version: 3, quotas: {} });
  });

  it('sets, replaces and clears memory defaults per job name (auto with a fallback, or a size)', () => {
    let s = policyFold.initial();
    expect(step(s, cmd('ClearMemDefault', { name: 'etl' })).types).toEqual([]);
    const set = step(s, cmd('SetMemDefault', { name: 'etl', memMb: 'auto', fallbackMb: 2048 }));
    expect(set.types).toEqual(['policy.mem_default_set']);
    s = set.state;
    const again = cmd('SetMemDefault', { name: 'etl', memMb: 'auto', fallbackMb: 2048 });
    expect(step(s, again).types).toEqual([]);
    s = step(s, cmd('SetMemDefault', { name: '__proto__', memMb: 512 })).state;
    expect(s.context.memDefaults).toEqual({
      etl: { memMb: 'auto', fallbackMb: 2048 },
      ['__proto__']: { memMb: 512 },
    });
    expect(Object.getPrototypeOf(s.context.memDefaults)).toBe(Object.prototype);
    s = step(s, cmd('ClearMemDefault', { name: 'etl', reason: 'done' })).state;
    expect(s.context).toMatchObject({ version: 3, memDefaults: { ['__proto__']: { memMb: 512 } } });
  });

  it('the machine refuses a gap or a rewrite of a version', () => {
    const s = step(policyFold.initial(), cmd('SetWeight', { user: 'a', weight: 2 })).state;
    const e = (version: number) => ({
      type: 'policy.weight_set' as const,
      v: 1 as const,
      id: `e${version}`,
      at: 1,
      by: admin,
      data: { version, user: 'a', weight: 3 },
    });
    expect(policyFold.tryEvolve(s, e(1))).toBeUndefined();
    expect(policyFold.tryEvolve(s, e(3))).toBeUndefined();
    expect(policyFold.tryEvolve(s, e(2))?.context.weights).toEqual({ a: 3 });
  });
});
