import fc from 'fast-check';
import { RESERVATION_FLAGS, type ReservationSpec } from '../../src/events/index.js';

const idArb = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')),
  minLength: 1,
  maxLength: 12,
});

/**
 * Reservation specs as the schema allows them: a window of up to a day after a start within
 * a few days, on named nodes or an amount (never both), for one to three users.
 */
export const reservationSpecArb: fc.Arbitrary<ReservationSpec> = fc
  .record({
    name: idArb,
    start: fc.integer({ min: 0, max: 5 * 86_400_000 }),
    length: fc.integer({ min: 1, max: 86_400_000 }),
    onNodes: fc.boolean(),
    nodes: fc.uniqueArray(idArb, { minLength: 1, maxLength: 4 }),
    amount: fc.record(
      {
        cpus: fc.integer({ min: 0, max: 64 }),
        memMb: fc.integer({ min: 0, max: 65_536 }),
        gpus: fc.integer({ min: 0, max: 4 }),
      },
      { noNullPrototype: true },
    ),
    users: fc.uniqueArray(idArb, { minLength: 1, maxLength: 3 }),
    flags: fc.subarray([...RESERVATION_FLAGS]),
  })
  .map(({ name, start, length, onNodes, nodes, amount, users, flags }) => ({
    name,
    start,
    end: start + length,
    nodes: onNodes ? nodes : [],
    ...(!onNodes && { amount: { ...amount } }),
    users,
    flags,
  }));
