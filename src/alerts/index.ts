/**
 * Alerts (CONTRACT "Operations"): the evaluator that runs the pure rules of src/policy/alerts on
 * the API's read model, the heartbeats and the scheduler lease, and sends each transition
 * through the alert machine; the notifier that delivers firing and resolved alerts through the
 * webhook sender; and the rules file.
 */
export { startAlerting } from './alerting.service.js';
export type { Alerting, AlertingOptions } from './alerting.service.js';
export { startAlertEvaluator, EVALUATOR } from './alert-evaluator.service.js';
export type {
  AlertEvaluator,
  AlertEvaluatorOptions,
  RoundReport,
} from './alert-evaluator.service.js';
export { alertInputsOf, brokenPromisesOf, occurrencesOf, queueWaits } from './alert-inputs.js';
export type { AlertFeeds } from './alert-inputs.js';
export { dueDeliveries, startAlertNotifier } from './alert-notifier.service.js';
export type { AlertNotifier } from './alert-notifier.service.js';
export { alertsFilePath, loadAlertRules } from './alerts-file.js';
export type { LoadedAlertRules } from './alerts-file.js';
export { leaderFrom, watchLease } from './lease-watch.jetstream.js';
