import { z } from 'zod';
import { ResourcesSchema } from './common.schemas.js';
import { eventSchema } from './envelope.js';

export const NodeRegisteredSchema = eventSchema(
  'node.registered',
  1,
  ResourcesSchema.extend({
    hostname: z.string().min(1).max(253),
    labels: z.record(z.string().min(1).max(63), z.string().max(253)),
    /** Distinguishes one life of the agent from the next (reconciliation after restart). */
    incarnation: z.string().min(1).max(200),
  }),
);
/** Reconciliation done: the node takes work. */
export const NodeReadySchema = eventSchema('node.ready', 1, z.object({}));
export const NodeDrainRequestedSchema = eventSchema(
  'node.drain_requested',
  1,
  z.object({
    reason: z.string().max(1000),
    /**
     * Set when the drain lasts only for this life of the agent (its agent is stopping): a new
     * incarnation lifts it. Without it the drain is the operator's and survives restarts.
     */
    incarnation: z.string().min(1).max(200).optional(),
  }),
);
/** Draining finished: nothing runs on it any more. */
export const NodeDrainedSchema = eventSchema('node.drained', 1, z.object({}));
export const NodeUndrainedSchema = eventSchema('node.undrained', 1, z.object({}));
export const NodeCordonedSchema = eventSchema(
  'node.cordoned',
  1,
  z.object({ reason: z.string().max(1000) }),
);
export const NodeUncordonedSchema = eventSchema('node.uncordoned', 1, z.object({}));
export const NodeLostSchema = eventSchema(
  'node.lost',
  1,
  z.object({
    reason: z.string().max(1000),
    lastHeartbeatAt: z.number().int().nonnegative().optional(),
  }),
);
/** A clean shutdown of the agent. */
export const NodeOfflineSchema = eventSchema(
  'node.offline',
  1,
  z.object({ reason: z.string().max(1000) }),
);

export const nodeEventSchemas = [
  NodeRegisteredSchema,
  NodeReadySchema,
  NodeDrainRequestedSchema,
  NodeDrainedSchema,
  NodeUndrainedSchema,
  NodeCordonedSchema,
  NodeUncordonedSchema,
  NodeLostSchema,
  NodeOfflineSchema,
] as const;

export type NodeEvent = z.infer<(typeof nodeEventSchemas)[number]>;
