/**
 * Alert rules (CONTRACT "Operations", DESIGN "wave-2 parts"): the rules file and its defaults,
 * the conditions of each rule on a moment's inputs, and the round that turns observations into
 * alert commands with hysteresis. Pure: the evaluator (src/alerts) gathers the inputs and sends
 * the commands through the alert machine.
 */
export {
  AlertRulesSchema,
  defaultAlertRules,
  durationMs,
  parseAlertRules,
  timingOf,
} from './alert-rules.js';
export type { AlertNotifyTarget, AlertRules, RuleIssue, RuleTiming } from './alert-rules.js';
export { observeAlerts, percentile } from './alert-conditions.js';
export type {
  AlertInputs,
  BrokenPromise,
  LeaderObservation,
  NodeObservation,
  Observation,
  RunDeadline,
} from './alert-conditions.js';
export { alertIdOf, planAlertRound, slugOf } from './alert-lifecycle.js';
export type { AlertOccurrence, AlertStep, ClearSince } from './alert-lifecycle.js';
