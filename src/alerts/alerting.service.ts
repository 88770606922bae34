import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createEntityRuntime } from '../actors/index.js';
import type { LiveModel } from '../api/index.js';
import type { EventLog } from '../events/index.js';
import {
  startAlertEvaluator,
  type AlertEvaluator,
  type RoundReport,
} from './alert-evaluator.service.js';
import type { AlertFeeds } from './alert-inputs.js';
import { startAlertNotifier } from './alert-notifier.service.js';
import type { LoadedAlertRules } from './alerts-file.js';

export interface AlertingOptions {
  readonly nc: NatsConnection;
  readonly eventLog: EventLog;
  readonly live: LiveModel;
  readonly loaded: LoadedAlertRules;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly leaseStaleMs?: number;
  readonly feeds?: AlertFeeds;
  readonly onRound?: (report: RoundReport) => void;
}

/** The evaluator and its notifier, as one part of a service. */
export interface Alerting {
  readonly evaluator: AlertEvaluator;
  stop(): Promise<void>;
}

/**
 * Start alerting beside an API service: the evaluator's rounds, each followed by the notifier
 * sending what is owed (the webhooks of the rules file).
 */
export function startAlerting(opts: AlertingOptions): Alerting {
  const runtime = createEntityRuntime({ eventLog: opts.eventLog });
  const notifier = startAlertNotifier({
    runtime,
    targets: opts.loaded.notify,
    logger: opts.logger,
  });
  const evaluator = startAlertEvaluator({
    nc: opts.nc,
    runtime,
    live: opts.live,
    rules: opts.loaded.rules,
    logger: opts.logger,
    ...(opts.intervalMs !== undefined && { intervalMs: opts.intervalMs }),
    ...(opts.leaseStaleMs !== undefined && { leaseStaleMs: opts.leaseStaleMs }),
    ...(opts.feeds && { feeds: opts.feeds }),
    onRound: (report) => {
      notifier.sendDue(opts.live.model);
      opts.onRound?.(report);
    },
  });
  opts.logger.info({ rules: opts.loaded.source, webhooks: opts.loaded.notify.length }, 'alerting');
  return {
    evaluator,
    async stop() {
      await evaluator.stop();
      await notifier.stop();
    },
  };
}
