export { allProjections } from './all.js';
export type { Handlers, Json, Projection, RecordedOf } from './projection.js';
export { peakRunsOf, usage, usageProjection } from './usage.projection.js';
export type { UsageKeyKind, UsageRow, UsageState } from './usage.projection.js';
export { percentile, recommendMemMb, RECOMMEND_HEADROOM, RECOMMEND_STEP_MB } from './usage-math.js';
export {
  auditEntries,
  auditFrom,
  auditPlan,
  auditProjection,
  entitiesOfId,
} from './audit.projection.js';
export type { AuditEntry, AuditPlan, AuditState } from './audit.projection.js';
export {
  createFairshareProjection,
  fairshareProjection,
  configOfState,
  FACTS_PER_USER,
} from './fairshare.projection.js';
export type { FairChunk, FairJob, FairshareState, UsageFact } from './fairshare.projection.js';
export { capacityOf, fairshare, fairshareTasks } from './fairshare-query.js';
export type { AheadEntry, FairshareRow } from './fairshare-query.js';
export { decisionsAt, decisionsProjection } from './decisions.projection.js';
export type {
  DecisionEntry,
  DecisionsAt,
  DecisionsState,
  PlacedEntry,
  WaitingEntry,
} from './decisions.projection.js';
export {
  throughput,
  throughputProjection,
  THROUGHPUT_WINDOW_MINUTES,
} from './throughput.projection.js';
export type { ThroughputKind, ThroughputSeries, ThroughputState } from './throughput.projection.js';
export {
  checkpointKey,
  checkpointsOf,
  createProjectionSet,
  decodeCheckpoint,
  diffJson,
  encodeCheckpoint,
  foldItems,
  resumeSeq,
  slotOf,
} from './runner.js';
export type { Checkpoint, JsonDiff, ProjectionSet, Slot } from './runner.js';
export {
  CHECKPOINT_BUCKET,
  createEventFetcher,
  createKvProjectionStore,
  ensureCheckpointBucket,
  openKvCheckpointReader,
} from './projection-store.jetstream.js';
export type {
  CheckpointReader,
  EventFetcher,
  ProjectionStore,
} from './projection-store.jetstream.js';
export { startCheckpointWriter } from './checkpoint-writer.service.js';
export type { CheckpointWriter, CheckpointWriterOptions } from './checkpoint-writer.service.js';
export {
  compareCheckpoints,
  createProjectionRunner,
  rebuildTo,
} from './projection-runner.jetstream.js';
export type {
  ProjectionRunner,
  ProjectionRunnerOptions,
  SeqRange,
  Until,
  VerifyResult,
} from './projection-runner.jetstream.js';
