import { expect } from 'vitest';
import { jobSpec } from './events.js';
import type {
  CommandMeta,
  Decision,
  EntityBehaviour,
  RejectionCode,
} from '../../src/actors/index.js';
import { currentVersion } from '../../src/events/index.js';
import type {
  Actor,
  DroverEvent,
  EventData,
  EventOf,
  EventType,
  JobSpec,
} from '../../src/events/index.js';

/** The actor of test commands and events. */
export const scheduler: Actor = { kind: 'scheduler', id: 'sched-1', epoch: 1 };
const T0 = 1_700_000_000_000;
let seq = 0;

/** Fresh command meta: deterministic ids (`cmd-<n>`) and times (T0 + n). */
export function meta(by: Actor = scheduler): CommandMeta {
  seq += 1;
  return { id: `cmd-${seq}`, at: T0 + seq, by };
}

/** An event of the current version, as the log would hold it (deterministic id and time). */
export function ev<T extends EventType>(
  type: T,
  data: EventData<T>,
  by: Actor = scheduler,
): EventOf<T> {
  seq += 1;
  return { type, v: currentVersion(type), id: `ev-${seq}`, at: T0 + seq, by, data } as EventOf<T>;
}

/** A normalised job spec with small defaults. */
export function spec(over: Partial<JobSpec> = {}): JobSpec {
  return jobSpec({ command: ['run'], chunks: 2, retries: 1, ...over });
}

/** What an expected event is compared on; the envelope is checked against the command. */
export interface Expected {
  readonly type: EventType;
  readonly data?: unknown;
}

export interface Outcome<S> {
  readonly state: S;
  readonly decision: Decision;
  /** Asserts the command is accepted with exactly these events; returns the state after them. */
  then(expected: readonly Expected[]): S;
  /** Asserts a rejection with `code` and audit events of these types; returns the state after. */
  thenRejected(code: RejectionCode, auditTypes?: readonly EventType[]): S;
}

function expectEnvelope(
  events: readonly DroverEvent[],
  command: CommandMeta,
  suffix: (i: number) => string,
) {
  events.forEach((e, i) => {
    expect(e.id).toBe(`${command.id}#${suffix(i)}`);
    expect(e.at).toBe(command.at);
    expect(e.by).toEqual(command.by);
    expect(e.v).toBe(currentVersion(e.type));
  });
}

/**
 * Given/when/then for deciders, after emmett's DeciderSpecification: `given` folds past events,
 * `when` decides a command, `then` compares the events (and that they fold), `thenRejected` the
 * rejection and its audit.
 * @example deciderSpec(jobBehaviour).given([submitted]).when(queue).then([{ type: 'job.queued' }])
 */
export function deciderSpec<S, C extends CommandMeta>(behaviour: EntityBehaviour<S, C>) {
  return {
    given(events: readonly DroverEvent[] = []) {
      const state = events.reduce((s, e) => behaviour.evolve(s, e), behaviour.initial());
      return {
        state,
        when(command: C): Outcome<S> {
          const decision = behaviour.decide(state, command);
          return {
            state,
            decision,
            then(expected) {
              if (!decision.ok) expect.fail(`rejected: ${decision.rejection.message}`);
              expect(decision.events.map((e) => ({ type: e.type, data: e.data }))).toEqual(
                expected.map((e) => ({ type: e.type, data: e.data ?? {} })),
              );
              expectEnvelope(decision.events, command, String);
              return decision.events.reduce((s, e) => behaviour.evolve(s, e), state);
            },
            thenRejected(code, auditTypes = []) {
              if (decision.ok)
                expect.fail(`accepted: ${decision.events.map((e) => e.type).join(', ')}`);
              expect(decision.rejection.code).toBe(code);
              const audit = decision.audit ?? [];
              expect(audit.map((e) => e.type)).toEqual(auditTypes);
              expectEnvelope(audit, command, () => 'rejected');
              return audit.reduce((s, e) => behaviour.evolve(s, e), state);
            },
          };
        },
      };
    },
  };
}
