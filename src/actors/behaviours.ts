import type { Entity } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { calendarBehaviour } from './calendar.decide.js';
import { chunkBehaviour } from './chunk.decide.js';
import { jobBehaviour } from './job.decide.js';
import { nodeBehaviour } from './node.decide.js';
import { promiseBehaviour } from './promise.decide.js';
import { reservationBehaviour } from './reservation.decide.js';
import { workerBehaviour } from './worker.decide.js';

/**
 * The behaviour of each entity kind, for code that handles events of every kind (folds over the
 * whole log, cascades, models). Typed loosely on purpose: callers pick by the event's entity. Pure.
 */
export const behaviours = {
  job: jobBehaviour,
  chunk: chunkBehaviour,
  worker: workerBehaviour,
  node: nodeBehaviour,
  calendar: calendarBehaviour,
  reservation: reservationBehaviour,
  promise: promiseBehaviour,
} as unknown as Readonly<Record<Entity, EntityBehaviour<unknown, unknown>>>;
