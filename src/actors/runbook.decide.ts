import type { EventData, RunbookEvent } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { runbookFold } from './runbook.machine.js';
import type { RunbookSnapshot } from './runbook.machine.js';

/** The data of each runbook command (sent by the API for `drover runbook run|resume`). */
export interface RunbookCommandData {
  StartRunbook: EventData<'runbook.started'>;
  StartStep: EventData<'runbook.step_started'>;
  RecordAnswer: EventData<'runbook.answered'>;
  RecordAction: EventData<'runbook.acted'>;
  CompleteStep: EventData<'runbook.step_completed'>;
  FinishRunbook: EventData<'runbook.finished'>;
}
export type RunbookCommandType = keyof RunbookCommandData;
export type RunbookCommandOf<T extends RunbookCommandType> = Command<T, RunbookCommandData[T]>;
/** Any runbook command: what `decideRunbook` takes. */
export type RunbookCommand = {
  [T in RunbookCommandType]: RunbookCommandOf<T>;
}[RunbookCommandType];

/** The command types, for request validation. */
export const RUNBOOK_COMMANDS = [
  'StartStep',
  'RecordAnswer',
  'RecordAction',
  'CompleteStep',
  'FinishRunbook',
] as const satisfies readonly RunbookCommandType[];

/** Each runbook command becomes exactly one event (exhaustive by its type). */
const runbookEventOf = {
  StartRunbook: 'runbook.started',
  StartStep: 'runbook.step_started',
  RecordAnswer: 'runbook.answered',
  RecordAction: 'runbook.acted',
  CompleteStep: 'runbook.step_completed',
  FinishRunbook: 'runbook.finished',
} as const satisfies Record<RunbookCommandType, RunbookEvent['type']>;

/**
 * Decide a runbook command. Pure. Legal when the runbook machine accepts its event (the step
 * order lives in the machine's guards); invalid data is refused naming the field.
 */
export const decideRunbook: (state: RunbookSnapshot, command: RunbookCommand) => Decision =
  oneEventDecider(runbookFold, runbookEventOf, undefined);

/** A runbook run as the entity runtime sees it. Pure. */
export const runbookBehaviour: EntityBehaviour<RunbookSnapshot, RunbookCommand> = {
  entity: 'runbook',
  initial: runbookFold.initial,
  evolve: runbookFold.evolve,
  decide: decideRunbook,
  stateOf: stateName,
};
