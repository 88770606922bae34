export { startApiService } from './api.service.js';
export { DEFAULT_READ_RETENTION_MS, ReadRetention, archiveScopeOf } from './read-retention.js';
export type { RetiredJob } from './read-retention.js';
export { startRetainedModel } from './retained-model.service.js';
export type { RetainedModel, RetainedModelOptions } from './retained-model.service.js';
export { readJobHistory, readJobModel } from './job-history.jetstream.js';
export type { JobHistory } from './job-history.jetstream.js';
export type { ApiService, ApiServiceOptions } from './api.service.js';
export type { LiveModel } from './live-model.jetstream.js';
export { alertList, alertView } from './alert-views.js';
export type { AlertView } from './alert-views.js';
export { promiseRow } from './api-promises.service.js';
export type { PromiseRow } from './api-promises.service.js';
export { createApiMetrics, noApiMetrics } from './api-metrics.js';
export type { ApiMetrics } from './api-metrics.js';
export { createApiClient } from './client.js';
export type { ApiClient, ApiClientOptions, LogEntry, Retried } from './client.js';
export { policyClient } from './policy-client.js';
export type { FairshareConfigView, QuotaRow } from './policy-client.js';
export {
  API_OPS,
  API_PREFIX,
  API_QUEUE,
  API_WILDCARD,
  apiSubject,
  parseApiSubject,
} from './protocol.js';
export type { ApiErrorBody, ApiOp, ApiReply, Caller } from './protocol.js';
export { applyEvent, applyHeartbeat, descendants, emptyReadModel } from './read-model.js';
export type { ReadModel, WorkerEntry, HeartbeatEntry, PromiseEntry } from './read-model.js';
export { JOB_STATES, chunkView, jobList, jobView, nodeList, publicState } from './views.js';
export type {
  AttemptView,
  CalendarRow,
  ChunkView,
  JobFilter,
  JobRow,
  JobState,
  JobView,
  NodeView,
  SessionView,
} from './views.js';
export { sessionRow, sessionRows } from './session-views.js';
export type { SessionRow } from './session-views.js';
export { explainJob, suggestedMemMb } from './explain.js';
export { runbookView } from './runbook-views.js';
export type { RunbookRunView, RunbookStepView } from './runbook-views.js';
export type { Explanation, LogSource } from './explain.js';
export { cancelPlan, clearPlan } from './plans.js';
export type { CancelPlan, ClearBlocker, ClearPlan, ProcessRef } from './plans.js';
export { findRejections } from './rejections.jetstream.js';
export type { RejectionEntry } from './rejections.jetstream.js';
export { reservationRows } from './api-reservations.service.js';
export type { ReservationRow } from './api-reservations.service.js';
export type { RunTaskView, RunView, WorkflowRow } from './workflow-views.js';
export type { RerunTaskView } from './api-rerun.service.js';
