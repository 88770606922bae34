import { z } from 'zod';
import { ActorSchema, type Actor } from './common.schemas.js';

/** The entities whose transitions are logged, one subject each: `drover.ev.<entity>.<id>`. */
export const ENTITIES = [
  'job',
  'chunk',
  'worker',
  'node',
  'calendar',
  'reservation',
  'alert',
  'runbook',
  'session',
  'policy',
  'workflow',
  'run',
  'promise',
] as const;
export type Entity = (typeof ENTITIES)[number];

/**
 * Envelope fields shared by every event (CONTRACT.md): `{ type, v, id, at, by, data }`, with
 * optional `corr` (the command or cascade this belongs to) and `cause` (the event that led to it).
 * `at` is epoch milliseconds; `id` is unique and doubles as the `Nats-Msg-Id`.
 */
export const EnvelopeHeaderSchema = z.object({
  type: z.string().min(1),
  v: z.number().int().positive(),
  id: z.string().min(1).max(200),
  at: z.number().int().nonnegative(),
  by: ActorSchema,
  corr: z.string().max(200).optional(),
  cause: z.string().max(200).optional(),
});
export type EnvelopeHeader = z.infer<typeof EnvelopeHeaderSchema>;

/**
 * Build the zod schema of one event type at its current version. Pure.
 * @internal used by the per-entity vocabularies.
 */
export function eventSchema<T extends string, V extends number, D extends z.ZodType>(
  type: T,
  v: V,
  data: D,
) {
  return EnvelopeHeaderSchema.extend({
    type: z.literal(type),
    v: z.literal(v),
    data,
  });
}

/** What the log adds when it stores an event. */
export interface Recorded {
  readonly subject: string;
  readonly seq: number;
}

export type { Actor };
