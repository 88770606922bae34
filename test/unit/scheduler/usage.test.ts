import { describe, expect, it } from 'vitest';
import {
  addUsage,
  decayFactor,
  defaultFairShareConfig,
  emptyHistory,
  historyAt,
} from '../../../src/policy/index.js';
import { vec } from '../../support/policy-arbitraries.js';

const HOUR = 3600;
const T0 = 1_700_000_000_000;

describe('decayed usage history', () => {
  it('defaults to a 24 h half-life, λ = 1 and no weights', () => {
    expect(defaultFairShareConfig).toEqual({ halfLifeS: 86_400, lambda: 1, weights: {} });
  });

  it('halves after one half-life and quarters after two', () => {
    const h = addUsage(emptyHistory(), 'ann', T0, vec(3600, 7200, 8), HOUR);
    expect(historyAt(h, 'ann', T0, HOUR)).toEqual(vec(3600, 7200, 8));
    expect(historyAt(h, 'ann', T0 + HOUR * 1000, HOUR)).toEqual(vec(1800, 3600, 4));
    expect(historyAt(h, 'ann', T0 + 2 * HOUR * 1000, HOUR)).toEqual(vec(900, 1800, 2));
  });

  it('decays older usage before adding newer usage', () => {
    let h = addUsage(emptyHistory(), 'ann', T0, vec(100, 0, 0), HOUR);
    h = addUsage(h, 'ann', T0 + HOUR * 1000, vec(10, 0, 0), HOUR);
    expect(h.refAt).toBe(T0 + HOUR * 1000);
    expect(h.byUser['ann']).toEqual(vec(60, 0, 0));
  });

  it('decays usage reported late from when it happened, keeping the reference time', () => {
    let h = addUsage(emptyHistory(), 'ann', T0 + HOUR * 1000, vec(10, 0, 0), HOUR);
    h = addUsage(h, 'bob', T0, vec(100, 0, 0), HOUR);
    expect(h.refAt).toBe(T0 + HOUR * 1000);
    expect(h.byUser['bob']).toEqual(vec(50, 0, 0));
    expect(h.byUser['ann']).toEqual(vec(10, 0, 0));
  });

  it('knows no usage for an unknown user, even one named like an Object method', () => {
    const h = addUsage(emptyHistory(), '__proto__', T0, vec(1, 1, 1), HOUR);
    expect(historyAt(h, 'toString', T0, HOUR)).toEqual(vec(0, 0, 0));
    expect(historyAt(h, '__proto__', T0, HOUR)).toEqual(vec(1, 1, 1));
    expect(Object.getPrototypeOf(h.byUser)).toBe(Object.prototype);
  });

  it('does not change the history it is given', () => {
    const h = addUsage(emptyHistory(), 'ann', T0, vec(1, 1, 1), HOUR);
    const copy = structuredClone(h);
    addUsage(h, 'ann', T0 + 5_000, vec(1, 1, 1), HOUR);
    expect(h).toEqual(copy);
  });

  it('has edge-case decay factors: none over no time, all with no half-life', () => {
    expect(decayFactor(T0, T0, 0)).toBe(1);
    expect(decayFactor(T0, T0 + 1, 0)).toBe(0);
    expect(decayFactor(T0, T0 + 1e12, Infinity)).toBe(1);
  });
});
