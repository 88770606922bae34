import type { z } from 'zod';
import { alertEventSchemas } from './alert.events.js';
import { calendarEventSchemas } from './calendar.events.js';
import { chunkEventSchemas } from './chunk.events.js';
import type { Entity } from './envelope.js';
import { jobEventSchemas } from './job.events.js';
import { nodeEventSchemas } from './node.events.js';
import { promiseEventSchemas } from './promise.events.js';
import { reservationEventSchemas } from './reservation.events.js';
import { runbookEventSchemas } from './runbook.events.js';
import { sessionEventSchemas } from './session.events.js';
import { policyEventSchemas } from './policy.events.js';
import { runEventSchemas } from './run.events.js';
import { workerEventSchemas } from './worker.events.js';
import { workflowEventSchemas } from './workflow.events.js';

/** Every event schema of the vocabulary, at its current version. Pure. */
export const allEventSchemas = [
  ...jobEventSchemas,
  ...chunkEventSchemas,
  ...workerEventSchemas,
  ...nodeEventSchemas,
  ...calendarEventSchemas,
  ...reservationEventSchemas,
  ...alertEventSchemas,
  ...runbookEventSchemas,
  ...sessionEventSchemas,
  ...policyEventSchemas,
  ...workflowEventSchemas,
  ...runEventSchemas,
  ...promiseEventSchemas,
] as const;

type AnyEventSchema = (typeof allEventSchemas)[number];

/** Any Drover event, discriminated on `type`. */
export type DroverEvent = z.infer<AnyEventSchema>;
export type EventType = DroverEvent['type'];
/** The event of one type. */
export type EventOf<T extends EventType> = Extract<DroverEvent, { type: T }>;
/** The `data` of one event type. */
export type EventData<T extends EventType> = EventOf<T>['data'];

/** Schema, current version and owning entity per event type. */
export interface EventCatalogEntry {
  readonly type: EventType;
  readonly v: number;
  readonly entity: Entity;
  readonly schema: AnyEventSchema;
}

export const eventCatalog: ReadonlyMap<string, EventCatalogEntry> = new Map(
  allEventSchemas.map((schema) => {
    const type = schema.shape.type.value as EventType;
    const v = schema.shape.v.value as number;
    const entity = type.slice(0, type.indexOf('.')) as Entity;
    return [type, { type, v, entity, schema }];
  }),
);

/** All event types of one entity, in vocabulary order (used by the transition tables). */
export function eventTypesOf(entity: Entity): EventType[] {
  return [...eventCatalog.values()].filter((e) => e.entity === entity).map((e) => e.type);
}

/** The current version of an event type. */
export function currentVersion(type: EventType): number {
  const entry = eventCatalog.get(type);
  // A programming error: `type` is typed as a known event type, so this is a cast gone wrong.
  if (!entry) throw new Error(`unknown event type ${type}`);
  return entry.v;
}
