/**
 * The scheduling policy (POLICY.md): fair-share queue order, placement with pending reasons,
 * retry decisions and decayed usage. No clock, randomness or I/O: time arrives as `now` and
 * `at`, so the service can replay any round exactly. A folder of its own (not under
 * `scheduler/`) because the projections compute the same fair share (`drover fairshare`) and
 * must meet the scheduler in a pure module rather than reach into the scheduler's folder.
 * Imports only `events` (types): the folder graph stays acyclic.
 */
export { emptyHistory, addUsage, historyAt, decayFactor, defaultFairShareConfig } from './usage.js';
export type { UsageHistory } from './usage.js';
export { emptyLedger, foldUsage } from './usage-ledger.js';
export type { HeldWorker, UsageCharge, UsageLedger } from './usage-ledger.js';
export { fairShareConfigOf } from './fairshare-params.js';
export type { FairShareParams, VersionedConfig } from './fairshare-params.js';
export { queueOrder, queueOrderSteps, compareWithinUser, weightOf } from './queue.js';
export type { QueueContext } from './queue.js';
export { placeRound, placeRoundSteps } from './placement.js';
export { STEP_ITEMS, runSteps, sortSteps } from './steps.js';
export type { Steps } from './steps.js';
export {
  LAUNCH_WINDOW_MS,
  createQuotaGate,
  launchQuotaReason,
  resourceQuotaReason,
} from './quotas.js';
export type { QuotaInput, QuotaLimits as QuotaLimitsOf } from './quotas.js';
export { jobReasons } from './job-reasons.js';
export type { JobReasonInput, QuotaReached, ActiveReservation } from './job-reasons.js';
export { formatResources } from './reasons.js';
export {
  DAY_MS,
  WEEK_MS,
  gateJob,
  heldNodes,
  periodOf,
  reachesInto,
  reservationGate,
  reservationReason,
  verdictReasons,
  windowAt,
} from './reservations.js';
export { admitPromise, fitsThroughout } from './promises.js';
export {
  DEFAULT_PREEMPTION,
  Shares,
  planPreemptions,
  preemptibleHolds,
  victimRefusal,
} from './preemption.js';
export type {
  Preemption,
  PreemptionInput,
  PreemptionParams,
  PromiseNeed,
  RunningWork,
} from './preemption.js';
export type { Admission, FarmModel, Hold, PromiseAsk } from './promises.js';
export type {
  GateJob,
  GateVerdict,
  HeldReservation,
  Reservation,
  ReservationGate,
  Window,
} from './reservations.js';
export { RESOURCE_KEYS } from './types.js';
export type {
  Backoff,
  FairShareConfig,
  NodeLifecycle,
  NodeState,
  PendingCode,
  PendingReason,
  Placement,
  Ranked,
  ResourceKey,
  ResourceVector,
  RetryDecision,
  RetryInput,
  RoundGate,
  RoundOptions,
  RoundResult,
  SkipReason,
  SkippedNode,
  Task,
} from './types.js';
export {
  retryDecision,
  backoffDelay,
  explainExitCode,
  defaultBackoff,
  NODE_AVOIDING_CAUSES,
  OOM_FACTOR,
} from './retry.js';
export { DEFAULT_MEM_RULE, decideMemAuto, roundUpMb, runsConsidered } from './mem-sizing.js';
export type { MemFallback, MemRule, MemSizing, PeakRun } from './mem-sizing.js';
export { PINNED_FIELDS, changedLockfiles, diffJobs, environmentChanges } from './environment.js';
export type { DiffableJob, Difference } from './environment.js';
