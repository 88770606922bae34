export {
  DEFAULT_RETRY_POLICY,
  delayBeforeRetry,
  isRetryableStatus,
  parseRetryAfter,
} from './retry-schedule.js';
export type { RetryPolicy } from './retry-schedule.js';
export { escapeSlack, withSlackText } from './slack-text.js';
export { createWebhookSender } from './webhook-sender.service.js';
export type {
  WebhookAttempt,
  WebhookDelivery,
  WebhookOutcome,
  WebhookSender,
  WebhookSenderOptions,
} from './webhook-sender.service.js';
export { runDeadlinesOf, runFactsOf } from './run-facts.js';
export { notificationBody, startRunNotifier } from './run-notifier.service.js';
export type { RunNotifier, RunNotifierOptions } from './run-notifier.service.js';
