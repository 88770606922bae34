import type { EventData } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { decideDrafts, oneEventDecider, type Draft } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { runFold, type RunSnapshot } from './run.machine.js';

/** The data of each run command (the timekeeper's, the API's trigger and backfill). */
export interface RunCommandData {
  /** Create the run; with `skip`, it is created and skipped at once (one append). */
  ScheduleRun: EventData<'run.scheduled'> & { readonly skip?: string };
  SubmitTask: EventData<'run.task_submitted'>;
  SkipTask: EventData<'run.task_skipped'>;
  SucceedRun: void;
  FailRun: EventData<'run.failed'>;
  CancelRun: void;
  SkipRun: EventData<'run.skipped'>;
  RerunTasks: EventData<'run.rerun_requested'>;
  RecordNotification: EventData<'run.notified'>;
}
export type RunCommandType = keyof RunCommandData;
export type RunCommandOf<T extends RunCommandType> = Command<T, RunCommandData[T]>;
export type RunCommand = { [T in RunCommandType]: RunCommandOf<T> }[RunCommandType];

const others = oneEventDecider<RunSnapshot, Exclude<RunCommand, { type: 'ScheduleRun' }>>(
  runFold,
  {
    SubmitTask: 'run.task_submitted',
    SkipTask: 'run.task_skipped',
    SucceedRun: 'run.succeeded',
    FailRun: 'run.failed',
    CancelRun: 'run.cancelled',
    SkipRun: 'run.skipped',
    RerunTasks: 'run.rerun_requested',
    RecordNotification: 'run.notified',
  },
  undefined,
);

/**
 * Decide a run command. Pure. `ScheduleRun` on a run that exists decides nothing (the fire
 * happened already: a second scheduler, a retried trigger); the runtime appends it with the
 * run's last sequence, 0, as the condition, so of two schedulers racing only one writes.
 */
export function decideRun(state: RunSnapshot, command: RunCommand): Decision {
  if (command.type !== 'ScheduleRun') return others(state, command);
  if (stateName(state) !== 'none') return { ok: true, events: [] };
  const { skip, ...data } = command.data;
  const drafts: Draft[] = [{ type: 'run.scheduled', data }];
  if (skip !== undefined) drafts.push({ type: 'run.skipped', data: { reason: skip } });
  return decideDrafts(runFold, state, command, drafts, undefined);
}

/** The run as the entity runtime sees it. Pure. */
export const runBehaviour: EntityBehaviour<RunSnapshot, RunCommand> = {
  entity: 'run',
  initial: runFold.initial,
  evolve: runFold.evolve,
  decide: decideRun,
  stateOf: stateName,
};
