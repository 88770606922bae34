import { describe, expect, it } from 'vitest';
import {
  defaultAlertRules,
  observeAlerts,
  parseAlertRules,
  percentile,
  type AlertInputs,
} from '../../../src/policy/alerts/index.js';

const NOW = Date.UTC(2026, 11, 5, 9, 0);
const quiet: AlertInputs = {
  now: NOW,
  nodes: [],
  queueWaitsMs: [],
  leader: { leading: true, holder: 's1', epoch: 3 },
  runDeadlines: [],
  brokenPromises: [],
};
const rules = defaultAlertRules();
const of = (inputs: Partial<AlertInputs>, rule: string) =>
  observeAlerts({ ...quiet, ...inputs }, rules).filter((o) => o.rule === rule);

describe('alert conditions (observeAlerts)', () => {
  it('swapping: active above the share, hold between the thresholds, clear at or below half', () => {
    const nodes = (swapping: number, total: number) =>
      Array.from({ length: total }, (_, i) => ({
        id: `n${i}`,
        state: 'ready',
        swapPagesPerSecond: i < swapping ? 500 : 3,
      }));
    expect(of({ nodes: nodes(3, 10) }, 'swapping')[0]).toMatchObject({
      key: 'farm',
      level: 'active',
      summary: '3 of 10 nodes swapping (30%; fires above 20%)',
      details: { share: 0.3, nodes: [{ node: 'n0' }, { node: 'n1' }, { node: 'n2' }] },
    });
    expect(of({ nodes: nodes(2, 10) }, 'swapping')[0]?.level).toBe('hold');
    expect(of({ nodes: nodes(1, 10) }, 'swapping')[0]?.level).toBe('clear');
    // Lost and offline nodes are not part of the farm's share.
    const gone = [...nodes(1, 4), { id: 'x', state: 'lost' }, { id: 'y', state: 'offline' }];
    expect(of({ nodes: gone }, 'swapping')[0]?.details).toMatchObject({ share: 0.25 });
  });

  it('node lost: one active observation per lost node, none for offline ones', () => {
    const nodes = [
      { id: 'a', state: 'lost' },
      { id: 'b', state: 'offline' },
      { id: 'c', state: 'ready' },
    ];
    expect(of({ nodes }, 'node-lost').map((o) => [o.key, o.level])).toEqual([['a', 'active']]);
  });

  it('queue wait: p95 over the bound is active, under 80% of it clear, too few jobs clear', () => {
    const min = 60_000;
    const waits = (n: number, ms: number) => Array.from({ length: n }, () => ms);
    expect(of({ queueWaitsMs: waits(20, 31 * min) }, 'queue-wait')[0]?.level).toBe('active');
    expect(of({ queueWaitsMs: waits(20, 27 * min) }, 'queue-wait')[0]?.level).toBe('hold');
    expect(of({ queueWaitsMs: waits(20, 10 * min) }, 'queue-wait')[0]?.level).toBe('clear');
    expect(of({ queueWaitsMs: waits(4, 99 * min) }, 'queue-wait')[0]?.level).toBe('clear');
    expect(
      percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100], 0.95),
    ).toBe(19);
  });

  it('run past its deadline: active while the run has not ended after its deadline', () => {
    const runDeadlines = [
      { run: 'eod@2026-12-04', deadline: NOW - 1 },
      { run: 'eod@2026-12-03', deadline: NOW - 1, endedAt: NOW - 10 },
      { run: 'eod@2026-12-05', deadline: NOW + 60_000 },
    ];
    const out = of({ runDeadlines }, 'run-deadline');
    expect(out.map((o) => [o.key, o.level])).toEqual([['eod@2026-12-04', 'active']]);
    expect(out[0]?.summary).toBe(
      `run eod@2026-12-04 is past its deadline ${new Date(NOW - 1).toISOString()}`,
    );
  });

  it('broken start-by promise: each listed promise is active, keyed by its job', () => {
    const brokenPromises = [{ jobId: 'j7', startBy: NOW - 5000, user: 'ann' }];
    expect(of({ brokenPromises }, 'broken-promise')).toEqual([
      {
        rule: 'broken-promise',
        key: 'j7',
        level: 'active',
        summary: `job j7 did not start by ${new Date(NOW - 5000).toISOString()} as promised`,
        details: { jobId: 'j7', startBy: new Date(NOW - 5000).toISOString(), user: 'ann' },
      },
    ]);
  });

  it('no leader: active when nobody holds the lease, clear when one does', () => {
    expect(of({}, 'no-leader')[0]?.level).toBe('clear');
    const leader = { leading: false, why: 'lease not renewed for 9 s' };
    expect(of({ leader }, 'no-leader')[0]).toMatchObject({
      level: 'active',
      summary: 'no scheduler leads: lease not renewed for 9 s',
    });
  });

  it('a disabled rule says nothing', () => {
    const off = parseAlertRules({ rules: { 'no-leader': { enabled: false } } });
    if (!off.ok) throw new Error('valid');
    const out = observeAlerts({ ...quiet, leader: { leading: false } }, off.rules);
    expect(out.filter((o) => o.rule === 'no-leader')).toEqual([]);
  });
});

describe('alerts.yaml (parseAlertRules)', () => {
  it('fills every default, and durations read as 90s / 5m / 2h or seconds', () => {
    const r = parseAlertRules({
      rules: { swapping: { share: 0.3, for: '90s' }, 'queue-wait': { p95: 600 } },
    });
    expect(r.ok && r.rules.swapping).toMatchObject({ share: 0.3, for: 90_000, clearFor: 120_000 });
    expect(r.ok && r.rules['queue-wait'].p95).toBe(600_000);
    expect(r.ok && r.rules['no-leader']).toEqual({ enabled: true, for: 15_000, clearFor: 10_000 });
    expect(parseAlertRules(null)).toEqual({ ok: true, rules: defaultAlertRules(), notify: [] });
    const hooks = parseAlertRules({
      notify: [{ url: 'http://127.0.0.1:9/h' }, { url: 'ftp://x' }],
    });
    expect(hooks.ok ? [] : hooks.issues.map((i) => i.path)).toEqual(['notify[1].url']);
  });

  it('names the path of every problem', () => {
    const r = parseAlertRules({
      rules: { swapping: { share: 1.5, for: 'soon' }, 'node-lost': { colour: 'red' } },
    });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['rules.swapping.share', 'rules.swapping.for', 'rules.node-lost']),
    );
    const band = parseAlertRules({ rules: { swapping: { share: 0.2, clearShare: 0.5 } } });
    expect(band).toEqual({
      ok: false,
      issues: [{ path: 'rules.swapping.clearShare', message: 'must be ≤ rules.swapping.share' }],
    });
  });
});
