export {
  ActorSchema,
  ChunkIdSchema,
  EntityIdSchema,
  EnvironmentSchema,
  FailureCauseSchema,
  JobFailureCauseSchema,
  JobSpecSchema,
  MemSizingSchema,
  PinnedEnvironmentSchema,
  ResourcesSchema,
  SettledStateSchema,
  WorkerIdSchema,
} from './common.schemas.js';
export type {
  Actor,
  Environment,
  FailureCause,
  JobFailureCause,
  JobSpec,
  MemSizingRecord,
  PinnedEnvironment,
  Resources,
  SettledState,
} from './common.schemas.js';
export { ENTITIES, EnvelopeHeaderSchema } from './envelope.js';
export type { Entity, EnvelopeHeader, Recorded } from './envelope.js';
export * from './job.events.js';
export * from './chunk.events.js';
export * from './worker.events.js';
export * from './node.events.js';
export * from './calendar.events.js';
export * from './reservation.events.js';
export * from './alert.events.js';
export * from './runbook.events.js';
export * from './session.events.js';
export * from './session-wire.js';
export * from './policy.events.js';
export * from './workflow.events.js';
export * from './run.events.js';
export * from './promise.events.js';
export { allEventSchemas, currentVersion, eventCatalog, eventTypesOf } from './schemas.js';
export type { DroverEvent, EventCatalogEntry, EventData, EventOf, EventType } from './schemas.js';
export { decodeEvent, encodeEvent, toFieldIssues, validateEvent, wasValidated } from './codec.js';
export type { LogPosition } from './codec.js';
export { upcast, upcasters } from './upcasters.js';
export type { Upcaster } from './upcasters.js';
export { parseMemoryMb } from './units.js';
export {
  EVENTS_PREFIX,
  EVENTS_STREAM,
  chunkId,
  eventSubject,
  eventWildcard,
  parseChunkId,
  entityOfSubject,
  parseEventSubject,
  workerId,
  WORK_STREAM,
  WORK_WILDCARD,
  workSubject,
  heartbeatSubject,
  agentLogsSubject,
  agentSessionSubject,
  HEARTBEAT_WILDCARD,
  INTAKE_STREAM,
  INTAKE_SUBJECT,
  REJECTED_STREAM,
  REJECTED_SUBJECT,
  jobIdOfIntake,
  SESSION_PREFIX,
  sessionInSubject,
  sessionOutSubject,
  sessionOutWildcard,
  nodeOfSessionSubject,
  sessionUserToken,
} from './subjects.js';
export {
  HeartbeatSchema,
  NodeReadingSchema,
  KillWorkSchema,
  LaunchWorkSchema,
  WorkSchema,
} from './work.schemas.js';
export type { Heartbeat, NodeReading, KillWork, LaunchWork, Work } from './work.schemas.js';
export {
  ConcurrencyError,
  DecodeError,
  ErrorCodes,
  InvalidTransitionError,
  SchedulerError,
  hasCode,
  isErrorCode,
} from './errors.js';
export type { ErrorCode, FieldIssue, SchedulerErrorOptions } from './errors.js';
export { fromNatsError } from './nats-errors.jetstream.js';
export { exitMeaning, signalFromExitCode, signalName } from './exit-meanings.js';
export {
  JSON_TYPE,
  MAX_BODY_BYTES,
  MSGPACK,
  badInput,
  oversizeReply,
  decodeBody,
  encodeBody,
} from './body-codec.js';
export { LogRequestSchema } from './agent-logs.schema.js';
export type { LogReply, LogRequest } from './agent-logs.schema.js';
export {
  checkLog,
  finishIntegrityCheck,
  gapBefore,
  observeEntry,
  startIntegrityCheck,
} from './integrity.js';
export type {
  ChainBreak,
  DuplicateEvent,
  IntegrityCheck,
  IntegrityReport,
  LogEntry,
  LogHole,
  UndecodableMessage,
} from './integrity.js';
export { EXPECTED_SEQ_HEADER, toEntry, verifyEventLog } from './verify.jetstream.js';
export type { LogVerification, VerifyLogOptions } from './verify.jetstream.js';
export { ExactStreamWriter, readStoredMessages } from './stream-copy.jetstream.js';
export type { StoredMessage } from './stream-copy.jetstream.js';
export { isCorrupt } from './event-log.js';
export type {
  AppendOptions,
  AppendResult,
  CorruptMessage,
  EntityHistory,
  EventLog,
  RecordedEvent,
  ReplayItem,
  ReplayRange,
  Tail,
} from './event-log.js';
export { createJetStreamEventLog } from './event-log.jetstream.js';
export type { JetStreamEventLog, JetStreamEventLogOptions } from './event-log.jetstream.js';
export {
  ensureEventStream,
  ensureFarmStreams,
  ensureRejectedStream,
  eventStreamConfig,
  raiseReplicas,
} from './stream.jetstream.js';
export type { EventStreamOptions } from './stream.jetstream.js';
export { SUBMIT_DEFAULTS, SubmitBodySchema, isMemAuto, toJobSpec } from './submit.schema.js';
export type { SubmitBody, ValidJobSpec } from './submit.schema.js';
export { JetStreamPublisher } from './publisher.jetstream.js';
export type { PublishOutcome } from './publisher.jetstream.js';
export {
  ARCHIVE_STREAM,
  ARCHIVE_RUN_SUBJECT,
  archiveSubjectOf,
  liveSubjectOf,
  runCutoff,
  runsToRead,
  type ArchiveRun,
  type ArchiveScope,
} from './archive.js';
export {
  ensureArchiveStream,
  loadArchiveRuns,
  readArchivedSubject,
  readWithArchive,
} from './archive.jetstream.js';
export { compactLog } from './compactor.jetstream.js';
export type { CompactOptions, CompactionReport, CompactionStep } from './compactor.jetstream.js';
export type { PurgeReport } from './compaction-purge.jetstream.js';
export { createCompactionSelector, observeForCompaction, planCompaction } from './compaction.js';
export type { CompactionPlan, CompactionSelector } from './compaction.js';
export { mergeBySeq } from './merge.js';
