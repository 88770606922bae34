import type { Entity } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { alertBehaviour } from './alert.decide.js';
import { calendarBehaviour } from './calendar.decide.js';
import { chunkBehaviour } from './chunk.decide.js';
import { jobBehaviour } from './job.decide.js';
import { nodeBehaviour } from './node.decide.js';
import { promiseBehaviour } from './promise.decide.js';
import { reservationBehaviour } from './reservation.decide.js';
import { runbookBehaviour } from './runbook.decide.js';
import { sessionBehaviour } from './session.decide.js';
import { policyBehaviour } from './policy.decide.js';
import { runBehaviour } from './run.decide.js';
import { workerBehaviour } from './worker.decide.js';
import { workflowBehaviour } from './workflow.decide.js';

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
  alert: alertBehaviour,
  runbook: runbookBehaviour,
  session: sessionBehaviour,
  policy: policyBehaviour,
  workflow: workflowBehaviour,
  run: runBehaviour,
  promise: promiseBehaviour,
} as unknown as Readonly<Record<Entity, EntityBehaviour<unknown, unknown>>>;
