import type { EventData } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { decideDrafts, RejectionCodes } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { promiseFold } from './promise.machine.js';
import type { PromiseSnapshot } from './promise.machine.js';

/** The data of each promise command (admission in the API; keeping and breaking by the leader). */
export interface PromiseCommandData {
  AcceptPromise: EventData<'promise.accepted'>;
  KeepPromise: EventData<'promise.kept'>;
  BreakPromise: EventData<'promise.broken'>;
  PreemptForPromise: EventData<'promise.preempted'>;
}
export type PromiseCommandType = keyof PromiseCommandData;
export type PromiseCommandOf<T extends PromiseCommandType> = Command<T, PromiseCommandData[T]>;
/** Any promise command: what `decidePromise` takes. */
export type PromiseCommand = {
  [T in PromiseCommandType]: PromiseCommandOf<T>;
}[PromiseCommandType];

/**
 * Decide a promise command. Pure. A promise is accepted once per job and judged once: keeping
 * or breaking one that is not pending is refused with words that say so.
 */
export function decidePromise(state: PromiseSnapshot, command: PromiseCommand): Decision {
  const now = stateName(state);
  switch (command.type) {
    case 'AcceptPromise': {
      if (now !== 'none')
        return refused(`job ${command.data.jobId} already has a promise (${now})`);
      const draft = { type: 'promise.accepted' as const, data: command.data };
      return decideDrafts(promiseFold, state, command, [draft], undefined);
    }
    case 'KeepPromise': {
      if (now !== 'pending') return refused(`promise is ${now}`);
      const draft = { type: 'promise.kept' as const, data: command.data };
      return decideDrafts(promiseFold, state, command, [draft], undefined);
    }
    case 'BreakPromise': {
      if (now !== 'pending') return refused(`promise is ${now}`);
      const draft = { type: 'promise.broken' as const, data: command.data };
      return decideDrafts(promiseFold, state, command, [draft], undefined);
    }
    case 'PreemptForPromise': {
      if (now !== 'pending') return refused(`promise is ${now}: nothing to preempt for`);
      const draft = { type: 'promise.preempted' as const, data: command.data };
      return decideDrafts(promiseFold, state, command, [draft], undefined);
    }
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function refused(message: string): Decision {
  return { ok: false, rejection: { code: RejectionCodes.InvalidTransition, message } };
}

/** The promise as the entity runtime sees it. Pure. */
export const promiseBehaviour: EntityBehaviour<PromiseSnapshot, PromiseCommand> = {
  entity: 'promise',
  initial: promiseFold.initial,
  evolve: promiseFold.evolve,
  decide: decidePromise,
  stateOf: stateName,
};
