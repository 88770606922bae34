import type { EventData, JobEvent } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { jobFold } from './job.machine.js';
import type { JobSnapshot } from './job.machine.js';

/** The data of each job command (events' data, so a decision is a validated copy of it). */
export interface JobCommandData {
  SubmitJob: EventData<'job.submitted'>;
  QueueJob: void;
  HoldJob: EventData<'job.held'>;
  ReleaseJob: EventData<'job.released'>;
  StartJob: void;
  AddChild: EventData<'job.child_added'>;
  RecordChildSettled: EventData<'job.child_settled'>;
  RecordChildQuiesced: EventData<'job.child_quiesced'>;
  RecordChunksSettled: EventData<'job.chunks_settled'>;
  RecordChunksQuiesced: EventData<'job.chunks_quiesced'>;
  /** `global` defaults to false: the front of the user's own order only (POLICY.md). */
  ChangePriority: Omit<EventData<'job.priority_changed'>, 'global'> & { global?: boolean };
  /** The scheduler's reasons for the job's waiting, when they change. */
  NotePending: EventData<'job.pending_noted'>;
  CompleteJob: void;
  FailJob: EventData<'job.failed'>;
  RequestCancel: EventData<'job.cancel_requested'>;
  ConfirmCancelled: void;
  ClearResults: void;
}
/** The `type` of every job command. */
export type JobCommandType = keyof JobCommandData;
/** The job command of one type. */
export type JobCommandOf<T extends JobCommandType> = Command<T, JobCommandData[T]>;
/** Any job command: what `decideJob` takes. */
export type JobCommand = { [T in JobCommandType]: JobCommandOf<T> }[JobCommandType];

/**
 * Each job command becomes exactly one event. The map is exhaustive by its type: a new command
 * does not compile until it names its event.
 */
const jobEventOf = {
  SubmitJob: 'job.submitted',
  QueueJob: 'job.queued',
  HoldJob: 'job.held',
  ReleaseJob: 'job.released',
  StartJob: 'job.started',
  AddChild: 'job.child_added',
  RecordChildSettled: 'job.child_settled',
  RecordChildQuiesced: 'job.child_quiesced',
  RecordChunksSettled: 'job.chunks_settled',
  RecordChunksQuiesced: 'job.chunks_quiesced',
  ChangePriority: 'job.priority_changed',
  NotePending: 'job.pending_noted',
  CompleteJob: 'job.succeeded',
  FailJob: 'job.failed',
  RequestCancel: 'job.cancel_requested',
  ConfirmCancelled: 'job.cancelled',
  ClearResults: 'job.results_cleared',
} as const satisfies Record<JobCommandType, JobEvent['type']>;

/**
 * Decide a job command. Pure. Legal when the job machine accepts the event in `state`; otherwise
 * rejected with `InvalidTransition` (the message names the state, the command and the unmet
 * condition) and audited with `job.command_rejected` when the job exists.
 * @example decideJob(snapshot, { type: 'CompleteJob', id: 'c1', at: now, by })
 */
export const decideJob: (state: JobSnapshot, command: JobCommand) => Decision = oneEventDecider(
  jobFold,
  jobEventOf,
  'job.command_rejected',
);

/** The job as the entity runtime sees it. Pure. */
export const jobBehaviour: EntityBehaviour<JobSnapshot, JobCommand> = {
  entity: 'job',
  initial: jobFold.initial,
  evolve: jobFold.evolve,
  decide: decideJob,
  stateOf: stateName,
};
