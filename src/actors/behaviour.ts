import type { DroverEvent, Entity } from '../events/index.js';
import type { Decision } from './decision.js';

export type { Decision } from './decision.js';

/**
 * Everything the entity runtime needs to know about one kind of entity. Pure: the runtime loads
 * the events, folds them with `evolve`, asks `decide` and appends what it returns; the behaviour
 * itself never touches the log, a clock or randomness.
 *
 * - `evolve` throws `InvalidTransitionError` on an event its machine rejects: replay must never
 *   silently diverge from the log.
 * - `decide` checks legality with the machine, never with rules of its own, so a decision's
 *   events always fold.
 */
export interface EntityBehaviour<S, C> {
  readonly entity: Entity;
  /** The snapshot of an entity that does not exist yet (state `none`). */
  initial(): S;
  evolve(s: S, e: DroverEvent): S;
  decide(s: S, c: C): Decision;
  /** The state's name (`'queued'`), for messages, audits and the API. */
  stateOf(s: S): string;
}
