import { describe, expect, it } from 'vitest';
import { alertFold, type AlertSnapshot } from '../../../src/actors/index.js';
import { dueDeliveries, leaderFrom } from '../../../src/alerts/index.js';
import { currentVersion, type DroverEvent, type EventType } from '../../../src/events/index.js';

const by = { kind: 'system' as const, id: 'alert-evaluator' };
const ev = (type: EventType, data: unknown, at: number) =>
  ({ type, v: currentVersion(type), id: `${type}@${at}`, at, by, data }) as DroverEvent;
const shown = { summary: 's', details: {} };

function alert(...events: DroverEvent[]): AlertSnapshot {
  return alertFold.foldEvents([
    ev('alert.opened', { rule: 'node-lost', key: 'n1', ...shown }, 1000),
    ...events,
  ]);
}

describe('the notifier outbox (dueDeliveries)', () => {
  const url = 'http://127.0.0.1:9/hook';
  const targets = [{ url, on: ['firing', 'resolved'] as ('firing' | 'resolved')[] }];

  it('owes a firing alert until a delivery of it succeeded or gave up; a retrying one is owed again', () => {
    const firing = alert(ev('alert.fired', shown, 2000));
    const notified = (ok: boolean, retryInMs?: number) =>
      ev(
        'alert.notified',
        { event: 'firing', url, attempt: 1, ok, ...(retryInMs !== undefined && { retryInMs }) },
        2100,
      );
    const map = (s: AlertSnapshot) => new Map([['node-lost-n1-1', s]]);
    expect(dueDeliveries(map(firing), targets, 3000, 60_000)).toEqual([
      { id: 'node-lost-n1-1', event: 'firing', url },
    ]);
    const trying = alertFold.evolve(firing, notified(false, 500));
    expect(dueDeliveries(map(trying), targets, 3000, 60_000)).toHaveLength(1);
    expect(
      dueDeliveries(map(alertFold.evolve(firing, notified(true))), targets, 3000, 60_000),
    ).toEqual([]);
    expect(
      dueDeliveries(map(alertFold.evolve(firing, notified(false))), targets, 3000, 60_000),
    ).toEqual([]);
    // Too old to tell anyone now; a pending alert is never told.
    expect(dueDeliveries(map(firing), targets, 2000 + 60_001, 60_000)).toEqual([]);
    expect(dueDeliveries(map(alert()), targets, 3000, 60_000)).toEqual([]);
    const onlyResolved = [{ url, on: ['resolved'] as ('firing' | 'resolved')[] }];
    expect(dueDeliveries(map(firing), onlyResolved, 3000, 60_000)).toEqual([]);
  });
});

describe('the lease as the evaluator reads it (leaderFrom)', () => {
  it('leads while the revision moves; not when released, stale or absent', () => {
    const v = { holder: 's1', epoch: 4 };
    expect(leaderFrom(undefined, undefined, 0, 10_000).observation).toEqual({
      leading: false,
      why: 'no scheduler has ever led',
    });
    const a = leaderFrom({ value: v, revision: 7 }, undefined, 1000, 10_000);
    expect(a.observation).toEqual({ leading: true, holder: 's1', epoch: 4 });
    const b = leaderFrom({ value: v, revision: 7 }, a.seen, 10_999, 10_000);
    expect(b.observation.leading).toBe(true);
    const c = leaderFrom({ value: v, revision: 7 }, b.seen, 11_000, 10_000);
    expect(c.observation).toMatchObject({
      leading: false,
      why: 's1 has not renewed the lease for 10 s',
    });
    const d = leaderFrom({ value: v, revision: 8 }, c.seen, 11_001, 10_000);
    expect(d.observation.leading).toBe(true);
    const released = leaderFrom(
      { value: { ...v, released: true }, revision: 9 },
      d.seen,
      11_002,
      10_000,
    );
    expect(released.observation).toMatchObject({ leading: false, why: 's1 released the lease' });
  });
});
