import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  DAY_MS,
  gateJob,
  heldNodes,
  periodOf,
  reservationGate,
  verdictReasons,
  windowAt,
  type HeldReservation,
  type NodeState,
  type Reservation,
} from '../../../src/policy/index.js';
import { reservationSpecArb } from '../../support/reservation-arbitraries.js';

const NODE_IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const USERS = ['ada', 'bob', 'cy'];

/** Reservations on the five test nodes (named, or an amount), for the three test users. */
const reservationArb: fc.Arbitrary<Reservation> = fc
  .tuple(
    reservationSpecArb,
    fc.subarray(NODE_IDS, { minLength: 1 }),
    fc.subarray(USERS, { minLength: 1 }),
  )
  .map(([r, nodes, users]) => ({ ...r, nodes: r.amount ? [] : nodes, users }));

const nodesArb: fc.Arbitrary<NodeState[]> = fc.constant(
  NODE_IDS.map((id) => ({
    id,
    state: 'ready' as const,
    capacity: { cpus: 8, memMb: 16_384, gpus: 1 },
    used: { cpus: 0, memMb: 0, gpus: 0 },
    labels: {},
  })),
);

const jobArb = fc.record(
  {
    user: fc.constantFrom(...USERS),
    timeoutS: fc.integer({ min: 1, max: 3 * 86_400 }),
    reservation: fc.string({ minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: ['user'] },
);

/**
 * The reference: occurrence k of `r` by brute force (no `windowAt`), and whether any of the
 * first `n` occurrences overlaps `[from, to)`.
 */
function occurrences(r: Reservation, n: number): { start: number; end: number }[] {
  const period = periodOf(r);
  if (period === undefined) return [{ start: r.start, end: r.end }];
  return Array.from({ length: n }, (_, k) => ({
    start: r.start + k * period,
    end: r.end + k * period,
  }));
}
const overlaps = (r: Reservation, from: number, to: number) =>
  occurrences(r, 60).some((w) => w.start < to && w.end > from);

const nowArb = fc.integer({ min: 0, max: 12 * DAY_MS });

describe('reservation windows', () => {
  test.prop([reservationArb, nowArb])(
    'windowAt is the first occurrence that has not ended: same length, on the period',
    (r, now) => {
      const w = windowAt(r, now);
      const first = occurrences(r, 200).find((o) => o.end > now);
      expect(w).toEqual(first);
    },
  );

  test.prop([reservationArb, nowArb, fc.integer({ min: 1, max: 20 })])(
    'a daily window repeats: once past the first, k days later it is the same shifted by k days',
    (r, offset, k) => {
      const daily = {
        ...r,
        flags: ['daily' as const],
        end: r.start + Math.min(r.end - r.start, DAY_MS),
      };
      const now = daily.end + offset;
      const w = windowAt(daily, now)!;
      const later = windowAt(daily, now + k * DAY_MS)!;
      expect(later.start - w.start).toBe(k * DAY_MS);
      expect(later.end - later.start).toBe(daily.end - daily.start);
    },
  );

  test.prop([reservationArb, nodesArb])(
    'an amount is held by nodes that cover it when the farm can',
    (r, nodes) => {
      const held = heldNodes(r, nodes);
      if (!r.amount) {
        expect(held).toEqual(r.nodes);
        return;
      }
      const sum = (k: 'cpus' | 'memMb' | 'gpus') =>
        nodes.filter((n) => held.includes(n.id)).reduce((s, n) => s + n.capacity[k], 0);
      const farm = (k: 'cpus' | 'memMb' | 'gpus') => nodes.reduce((s, n) => s + n.capacity[k], 0);
      for (const k of ['cpus', 'memMb', 'gpus'] as const)
        expect(sum(k)).toBeGreaterThanOrEqual(Math.min(r.amount[k], farm(k)));
    },
  );
});

describe('the reservation gate', () => {
  const held = (rs: readonly Reservation[], nodes: NodeState[]): HeldReservation[] =>
    rs.map((r) => ({ ...r, held: heldNodes(r, nodes) }));

  test.prop([fc.array(reservationArb, { maxLength: 5 }), nodesArb, jobArb, nowArb])(
    'a job may start on a node only if no window of others on it overlaps its run, and is kept off only for one',
    (rs, nodes, job, now) => {
      const live = held(rs, nodes);
      const v = gateJob(job, live, now, NODE_IDS);
      const limit = job.timeoutS !== undefined ? job.timeoutS * 1000 : Infinity;
      const own = live.find((r) => r.name === job.reservation);
      const keptOff = (r: HeldReservation) =>
        r.name !== job.reservation &&
        (!r.users.includes(job.user) || r.flags.includes('maint')) &&
        overlaps(r, now, now + limit);
      if (v.blocked.length > 0) {
        // Only a job submitted into a reservation is blocked, and only when it may not use it now.
        expect(job.reservation).toBeDefined();
        // A window that has ended (no occurrence left) is not open either.
        const window = own && windowAt(own, now);
        const open = own && own.users.includes(job.user) && window && window.start <= now;
        expect(open).toBeFalsy();
        return;
      }
      for (const n of NODE_IDS) {
        const excluded = v.exclude.includes(n);
        const byOthers = live.some((r) => r.held.includes(n) && keptOff(r));
        const outsideOwn = job.reservation !== undefined && !own!.held.includes(n);
        expect(excluded).toBe(byOthers || outsideOwn);
      }
      const expected = live.filter(keptOff).map((r) => r.name);
      expect(v.keptOff.map((k) => k.r.name).sort()).toEqual([...expected].sort());
      // Reasons name the soonest windows, at most three, and count the rest.
      const reasons = verdictReasons(v);
      expect(reasons.length).toBe(Math.min(3, expected.length));
      const more = expected.length - reasons.length;
      if (more > 0) expect(reasons.at(-1)!.details?.more).toBe(more);
      for (const x of reasons) expect(expected).toContain(x.details?.reservation);
    },
  );

  test.prop([
    fc.array(reservationArb, { maxLength: 5 }),
    nodesArb,
    fc.constantFrom(...USERS),
    nowArb,
  ])(
    'a job without a time limit is kept off every node of a window not for it, however far away',
    (rs, nodes, user, now) => {
      const v = gateJob({ user }, held(rs, nodes), now, NODE_IDS);
      for (const r of held(rs, nodes)) {
        if (windowAt(r, now) === undefined) continue;
        if (r.users.includes(user) && !r.flags.includes('maint')) continue;
        for (const n of r.held) expect(v.exclude).toContain(n);
      }
    },
  );

  test.prop([fc.array(reservationArb, { maxLength: 5 }), nodesArb, jobArb, nowArb])(
    'the round gate (memoised, ended windows dropped) agrees with gateJob',
    (rs, nodes, job, now) => {
      const gate = reservationGate(rs, nodes, now);
      const live = held(rs, nodes).filter((r) => windowAt(r, now) !== undefined);
      const direct = gateJob(job, live, now, NODE_IDS);
      const a = gate.check(job);
      expect(gate.check(job)).toBe(a);
      expect([...a.exclude].sort()).toEqual([...direct.exclude].sort());
      expect(a.blocked.map((r) => r.code)).toEqual(direct.blocked.map((r) => r.code));
    },
  );
});
