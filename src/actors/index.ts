export type { Decision, EntityBehaviour } from './behaviour.js';
export { behaviours } from './behaviours.js';
export { RejectionCodes } from './decision.js';
export type { Command, CommandMeta, Rejection, RejectionCode } from './decision.js';
export { createFold, fromPlain, stateName, toPlain } from './evolve.js';
export type { Fold, GuardDocs, PlainSnapshot } from './evolve.js';
export {
  allQuiescent,
  allSettled,
  allSucceeded,
  jobFold,
  jobGuardDocs,
  jobMachine,
} from './job.machine.js';
export type { JobContext, JobSnapshot } from './job.machine.js';
export * as chunkSettlements from './chunk-settlements.js';
export type { ChunkSettlements, IndexedSettlement, Settlement } from './chunk-settlements.js';
export { chunkFold, chunkGuardDocs, chunkMachine } from './chunk.machine.js';
export type { AttemptRecord, ChunkContext, ChunkSnapshot } from './chunk.machine.js';
export { workerFold, workerGuardDocs, workerMachine } from './worker.machine.js';
export type { KillReason, WorkerContext, WorkerSnapshot } from './worker.machine.js';
export { nodeFold, nodeGuardDocs, nodeMachine } from './node.machine.js';
export type { NodeContext, NodeSnapshot } from './node.machine.js';
export { decideJob, jobBehaviour } from './job.decide.js';
export type { JobCommand, JobCommandData, JobCommandOf, JobCommandType } from './job.decide.js';
export { chunkBehaviour, decideChunk } from './chunk.decide.js';
export type {
  ChunkCommand,
  ChunkCommandData,
  ChunkCommandOf,
  ChunkCommandType,
} from './chunk.decide.js';
export { decideWorker, workerBehaviour } from './worker.decide.js';
export type {
  WorkerCommand,
  WorkerCommandData,
  WorkerCommandOf,
  WorkerCommandType,
} from './worker.decide.js';
export { calendarFold, calendarGuardDocs, calendarMachine } from './calendar.machine.js';
export type { CalendarContext, CalendarSnapshot } from './calendar.machine.js';
export { calendarBehaviour, decideCalendar, latestCalendar } from './calendar.decide.js';
export {
  reservationFold,
  reservationGuardDocs,
  reservationMachine,
} from './reservation.machine.js';
export type { ReservationContext, ReservationSnapshot } from './reservation.machine.js';
export { decideReservation, reservationBehaviour } from './reservation.decide.js';
export { promiseFold, promiseGuardDocs, promiseMachine } from './promise.machine.js';
export type { PromiseContext, PromiseSnapshot } from './promise.machine.js';
export { decidePromise, promiseBehaviour } from './promise.decide.js';
export type {
  PromiseCommand,
  PromiseCommandData,
  PromiseCommandOf,
  PromiseCommandType,
} from './promise.decide.js';
export type {
  ReservationCommand,
  ReservationCommandData,
  ReservationCommandOf,
  ReservationCommandType,
} from './reservation.decide.js';
export type {
  CalendarCommand,
  CalendarCommandData,
  CalendarCommandOf,
  CalendarCommandType,
} from './calendar.decide.js';
export { alertFold, alertGuardDocs, alertMachine } from './alert.machine.js';
export type { AlertAck, AlertContext, AlertSnapshot } from './alert.machine.js';
export { alertBehaviour, decideAlert } from './alert.decide.js';
export type { AlertCommand, AlertCommandData, AlertCommandType } from './alert.decide.js';
export { runbookFold, runbookGuardDocs, runbookMachine } from './runbook.machine.js';
export type { RunbookContext, RunbookSnapshot, RunbookStepRecord } from './runbook.machine.js';
export { RUNBOOK_COMMANDS, decideRunbook, runbookBehaviour } from './runbook.decide.js';
export type {
  RunbookCommand,
  RunbookCommandData,
  RunbookCommandOf,
  RunbookCommandType,
} from './runbook.decide.js';
export { sessionFold, sessionGuardDocs, sessionMachine } from './session.machine.js';
export type { SessionContext, SessionPlacement, SessionSnapshot } from './session.machine.js';
export { decideSession, sessionBehaviour } from './session.decide.js';
export type {
  SessionCommand,
  SessionCommandData,
  SessionCommandOf,
  SessionCommandType,
} from './session.decide.js';
export { policyFold, policyGuardDocs, policyMachine } from './policy.machine.js';
export type { MemDefaultEntry, PolicyContext, PolicySnapshot } from './policy.machine.js';
export { decidePolicy, policyBehaviour } from './policy.decide.js';
export type { PolicyCommand, PolicyCommandData, PolicyCommandType } from './policy.decide.js';
export { workflowFold, workflowGuardDocs, workflowMachine } from './workflow.machine.js';
export type { WorkflowContext, WorkflowSnapshot } from './workflow.machine.js';
export { decideWorkflow, latestWorkflow, workflowBehaviour } from './workflow.decide.js';
export type {
  WorkflowCommand,
  WorkflowCommandData,
  WorkflowCommandType,
} from './workflow.decide.js';
export { runFold, runGuardDocs, runMachine } from './run.machine.js';
export type { NotificationRecord, RunContext, RunSnapshot, RunTaskRecord } from './run.machine.js';
export { decideRun, runBehaviour } from './run.decide.js';
export type { RunCommand, RunCommandData, RunCommandOf, RunCommandType } from './run.decide.js';
export { decideNode, nodeBehaviour } from './node.decide.js';
export type {
  NodeCommand,
  NodeCommandData,
  NodeCommandOf,
  NodeCommandType,
} from './node.decide.js';
export {
  afterChunkEvent,
  afterJobEvent,
  cancelCascade,
  cancelFromParent,
  cascadeCancelId,
  closingCommand,
  derivedId,
} from './cascade.js';
export type { Addressed, CancelPlan } from './cascade.js';
export {
  machineDescriptions,
  renderTransitionTable,
  statesOf,
  transitionRows,
  transitionTables,
} from './transition-table.js';
export type { MachineDescription, TransitionCell, TransitionRow } from './transition-table.js';
export { RECENT_IDS, STALE_EPOCH, createEntityRuntime } from './runtime.js';
export { RecentIdText, type RecentIds } from './recent-ids.js';
export { createdChunkPacker, type CachePacker } from './packed-chunk.js';
export type {
  Anomaly,
  EntityRuntime,
  EntityRuntimeOptions,
  ExecuteResult,
  Loaded,
} from './runtime.js';
export { compileFold } from './compiled-fold.js';
export type { CompiledFold } from './compiled-fold.js';
export { createKeyedQueue } from './keyed-queue.js';
export type { KeyedQueue } from './keyed-queue.js';
