import { z } from 'zod';
import { EntityIdSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

/** Slurm's basic reservation flags (CONTRACT "Capacity"). */
export const RESERVATION_FLAGS = ['maint', 'ignore-jobs', 'daily', 'weekly'] as const;
/** One reservation flag. */
export type ReservationFlag = (typeof RESERVATION_FLAGS)[number];

const Millis = z.number().int().nonnegative().max(8.64e15);

/** An amount of resources held by a reservation (a zero means none of that resource). */
export const ReservedAmountSchema = z.strictObject({
  cpus: z.number().nonnegative().max(1_000_000),
  memMb: z.number().int().nonnegative().max(1_000_000_000),
  gpus: z.number().int().nonnegative().max(100_000),
});

/**
 * A reservation as created: a window `[start, end)` (epoch ms; with `daily` or `weekly` the
 * first of a series, repeating every day or week), on named nodes or on an amount of resources,
 * for some users. Exactly one of `nodes` (non-empty) and `amount` holds what is reserved.
 */
export const ReservationSpecSchema = z.strictObject({
  name: EntityIdSchema,
  start: Millis,
  end: Millis,
  nodes: z.array(EntityIdSchema).max(10_000),
  amount: ReservedAmountSchema.optional(),
  users: z.array(z.string().min(1).max(64)).min(1).max(1000),
  flags: z.array(z.enum(RESERVATION_FLAGS)).max(RESERVATION_FLAGS.length),
});
/** A reservation's data, as its `reservation.created` event carries it. */
export type ReservationSpec = z.infer<typeof ReservationSpecSchema>;

/** An admin reserved capacity for a window (the whole spec; nothing is derived later). */
export const ReservationCreatedSchema = eventSchema(
  'reservation.created',
  1,
  z.object({ reservation: ReservationSpecSchema }),
);

/** An admin deleted a reservation: its capacity is open to everyone from this event on. */
export const ReservationDeletedSchema = eventSchema(
  'reservation.deleted',
  1,
  z.object({ reason: z.string().max(1000).optional() }),
);

export const reservationEventSchemas = [
  ReservationCreatedSchema,
  ReservationDeletedSchema,
] as const;

export type ReservationEvent = z.infer<(typeof reservationEventSchemas)[number]>;
