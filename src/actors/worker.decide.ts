import type { EventData, WorkerEvent } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { workerFold } from './worker.machine.js';
import type { WorkerSnapshot } from './worker.machine.js';

/** The data of each worker command (sent by the scheduler and the node agents). */
export interface WorkerCommandData {
  LaunchWorker: EventData<'worker.launching'>;
  ReportStarted: EventData<'worker.started'>;
  ReportSample: EventData<'worker.sampled'>;
  RequestKill: EventData<'worker.kill_requested'>;
  ReportExited: EventData<'worker.exited'>;
  ReportKilled: EventData<'worker.killed'>;
  MarkLost: EventData<'worker.lost'>;
  ReadoptWorker: EventData<'worker.readopted'>;
}
/** The `type` of every worker command. */
export type WorkerCommandType = keyof WorkerCommandData;
/** The worker command of one type. */
export type WorkerCommandOf<T extends WorkerCommandType> = Command<T, WorkerCommandData[T]>;
/** Any worker command: what `decideWorker` takes. */
export type WorkerCommand = { [T in WorkerCommandType]: WorkerCommandOf<T> }[WorkerCommandType];

/** Each worker command becomes exactly one event (exhaustive by its type). */
const workerEventOf = {
  LaunchWorker: 'worker.launching',
  ReportStarted: 'worker.started',
  ReportSample: 'worker.sampled',
  RequestKill: 'worker.kill_requested',
  ReportExited: 'worker.exited',
  ReportKilled: 'worker.killed',
  MarkLost: 'worker.lost',
  ReadoptWorker: 'worker.readopted',
} as const satisfies Record<WorkerCommandType, WorkerEvent['type']>;

/**
 * Decide a worker command. Pure. Legal when the worker machine accepts its event; a rejection is
 * `InvalidTransition` without audit (the worker vocabulary has no audit event).
 */
export const decideWorker: (state: WorkerSnapshot, command: WorkerCommand) => Decision =
  oneEventDecider(workerFold, workerEventOf, undefined);

/** The worker as the entity runtime sees it. Pure. */
export const workerBehaviour: EntityBehaviour<WorkerSnapshot, WorkerCommand> = {
  entity: 'worker',
  initial: workerFold.initial,
  evolve: workerFold.evolve,
  decide: decideWorker,
  stateOf: stateName,
};
