import { stateName } from '../actors/index.js';
import type { ReservationSpec } from '../events/index.js';
import { reservationGate, type Reservation, type ReservationGate } from '../policy/index.js';
import type { Change } from './entity-view.js';
import type { FarmIndex } from './farm-index.js';
import { nodeStates } from './placement-round.js';
import type { Peek } from './rules.js';

/** A reservation's spec as the policy takes it. Pure. */
export function reservationOf(spec: ReservationSpec): Reservation {
  return {
    name: spec.name,
    start: spec.start,
    end: spec.end,
    nodes: spec.nodes,
    ...(spec.amount && { amount: spec.amount }),
    users: spec.users,
    flags: spec.flags,
  };
}

/**
 * The reservations the scheduler holds to, kept from the changes it folds (created: in;
 * deleted: out), and the gate a round applies with them. Its own small state, fed by the
 * leader's `changed` like the index.
 */
export class ReservationBook {
  private readonly live = new Map<string, Reservation>();

  observe(c: Change): void {
    if (c.entity !== 'reservation') return;
    const spec = c.state.context.spec;
    if (spec && stateName(c.state) === 'active') this.live.set(c.id, reservationOf(spec));
    else this.live.delete(c.id);
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * The gate for a round at `now`, or undefined when nothing is reserved (the round then costs
   * what it did before reservations existed). Amounts resolve against the nodes as they are.
   */
  gate(peek: Peek, index: FarmIndex, now: number): ReservationGate | undefined {
    if (this.live.size === 0) return undefined;
    return reservationGate([...this.live.values()], nodeStates(peek, index, new Map()), now);
  }
}
