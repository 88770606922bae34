/**
 * Daily pipelines (issue 17), pure: workflow files checked and normalised, the timekeeper's
 * choice of runs to fire (schedule and calendar versions, now, what fired already), and the plan
 * that moves a run's tasks on (trigger rules, conditions, sensors, depends-on-past).
 */
export { parseWorkflow, topoOrder, workflowProblems } from './workflow-data.js';
export type { ParsedWorkflow } from './workflow-data.js';
export {
  DEFAULT_GRACE_MS,
  MAX_DUE,
  dueRuns,
  firesIntraday,
  isRunTerminal,
  logicalDate,
  runId,
  scheduleZone,
} from './timekeeper.js';
export type { DueRun, RunFact, ScheduledWorkflow } from './timekeeper.js';
export {
  conditionHolds,
  isTaskDone,
  planRun,
  runOutcome,
  runJobId,
  taskBlocker,
  taskJobId,
  taskStateOf,
  triggerVerdict,
} from './task-plan.js';
export type { RunPlanInput, TaskState, TaskStep } from './task-plan.js';
export { downstreamOf, selectRerun } from './rerun.js';
export type { RerunAsk, RerunSelection } from './rerun.js';
export {
  deadlineOf,
  dueNotifications,
  missedDeadline,
  notificationText,
} from './notifications.js';
export type { DueNotification, RunFacts, TaskFacts } from './notifications.js';
