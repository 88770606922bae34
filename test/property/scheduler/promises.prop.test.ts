import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  admitPromise,
  heldNodes,
  periodOf,
  type FarmModel,
  type Hold,
  type NodeState,
  type Reservation,
} from '../../../src/policy/index.js';
import { reservationSpecArb } from '../../support/reservation-arbitraries.js';

const IDS = ['n1', 'n2', 'n3'];
const HOUR = 3_600_000;
const NOW = 10 * 86_400_000;

const vecArb = fc.record({
  cpus: fc.integer({ min: 1, max: 8 }),
  memMb: fc.constantFrom(512, 2048, 8192),
  gpus: fc.constantFrom(0, 0, 1),
});
const nodesArb: fc.Arbitrary<NodeState[]> = fc.tuple(
  ...IDS.map((id) =>
    fc.record({
      id: fc.constant(id),
      state: fc.constantFrom('ready' as const, 'ready' as const, 'drained' as const),
      capacity: fc.record({
        cpus: fc.constantFrom(4, 8),
        memMb: fc.constantFrom(8192, 16_384),
        gpus: fc.constantFrom(0, 1),
      }),
      used: fc.constant({ cpus: 0, memMb: 0, gpus: 0 }),
      labels: fc.constant({}),
    }),
  ),
);
/** Running jobs (from in the past) and earlier promises (from now or later); some forever. */
const holdArb: fc.Arbitrary<Hold> = fc
  .record({
    node: fc.constantFrom(...IDS),
    request: vecArb,
    from: fc.integer({ min: NOW - 4 * HOUR, max: NOW + 6 * HOUR }),
    length: fc.option(fc.integer({ min: 1, max: 8 * HOUR }), { nil: undefined }),
  })
  .map(({ node, request, from, length }) => ({
    node,
    request,
    from,
    until: length === undefined ? Infinity : Math.max(from + length, NOW - HOUR),
  }));
const reservationArb: fc.Arbitrary<Reservation> = fc
  .tuple(reservationSpecArb, fc.subarray(IDS, { minLength: 1 }), fc.subarray(['ada', 'bob']))
  .map(([r, nodes, users]) => ({
    ...r,
    start: NOW + r.start - 2 * 86_400_000,
    end: NOW + r.end - 2 * 86_400_000,
    nodes: r.amount ? [] : nodes,
    users: users.length ? users : ['cy'],
  }));
const askArb = fc.record(
  {
    user: fc.constantFrom('ada', 'bob'),
    request: vecArb,
    labels: fc.constant({}),
    timeoutS: fc.integer({ min: 60, max: 12 * 3600 }),
    startBy: fc.integer({ min: NOW - HOUR, max: NOW + 10 * HOUR }),
  },
  { requiredKeys: ['user', 'request', 'labels', 'startBy'] },
);

/** Whether an occurrence of `r` (brute force) overlaps `[a, b)`. */
function overlaps(r: Reservation, a: number, b: number): boolean {
  const p = periodOf(r);
  for (let k = 0; k < (p ? 40 : 1); k++) {
    const s = r.start + k * (p ?? 0);
    const e = r.end + k * (p ?? 0);
    if (s < b && e > a) return true;
  }
  return false;
}

describe('promise admission', () => {
  test.prop([
    nodesArb,
    fc.array(holdArb, { maxLength: 8 }),
    fc.array(reservationArb, { maxLength: 3 }),
    askArb,
  ])(
    'never accepts a promise the farm cannot keep under its own model',
    (nodes, holds, rs, ask) => {
      const farm: FarmModel = {
        now: NOW,
        nodes,
        holds,
        reservations: rs.map((r) => ({ ...r, held: heldNodes(r, nodes) })),
      };
      const a = admitPromise(ask, farm);
      if (!a.accepted) return;
      const limit = ask.timeoutS !== undefined ? ask.timeoutS * 1000 : Infinity;
      const end = a.startAt + limit;
      expect(a.startAt).toBeGreaterThanOrEqual(NOW);
      expect(a.startAt).toBeLessThanOrEqual(ask.startBy);
      const n = nodes.find((x) => x.id === a.node)!;
      expect(n.state).toBe('ready');
      // Capacity, checked at every moment use can change inside the run (brute force).
      const on = holds.filter((h) => h.node === n.id);
      const moments = [a.startAt, ...on.flatMap((h) => [h.from, h.until])].filter(
        (t) => t >= a.startAt && t < end,
      );
      for (const t of moments) {
        const used = on.filter((h) => h.from <= t && t < h.until);
        for (const k of ['cpus', 'memMb', 'gpus'] as const) {
          const sum = used.reduce((s, h) => s + h.request[k], ask.request[k]);
          expect(sum).toBeLessThanOrEqual(n.capacity[k]);
        }
      }
      // No window of a reservation not for this user (or a maintenance one) on that node.
      for (const r of farm.reservations) {
        if (!r.held.includes(n.id)) continue;
        if (r.users.includes(ask.user) && !r.flags.includes('maint')) continue;
        expect(overlaps(r, a.startAt, end)).toBe(false);
      }
    },
  );

  test.prop([nodesArb, askArb])(
    'an empty, unreserved ready node that fits is booked now',
    (nodes, ask) => {
      const fits = nodes.some(
        (n) =>
          n.state === 'ready' &&
          n.capacity.cpus >= ask.request.cpus &&
          n.capacity.memMb >= ask.request.memMb &&
          n.capacity.gpus >= ask.request.gpus,
      );
      const a = admitPromise(
        { ...ask, startBy: NOW + HOUR },
        { now: NOW, nodes, holds: [], reservations: [] },
      );
      expect(a.accepted).toBe(fits);
      if (a.accepted) expect(a.startAt).toBe(NOW);
    },
  );
});
