import type { Logger } from 'pino';
import {
  alertBehaviour,
  stateName,
  type AlertSnapshot,
  type EntityRuntime,
} from '../actors/index.js';
import { alertView, type ReadModel } from '../api/index.js';
import { createWebhookSender, withSlackText, type WebhookSender } from '../notify/index.js';
import type { AlertNotifyTarget } from '../policy/alerts/index.js';
import { EVALUATOR } from './alert-evaluator.service.js';

export interface AlertNotifierOptions {
  readonly runtime: EntityRuntime;
  readonly targets: readonly AlertNotifyTarget[];
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly sender?: WebhookSender;
  /** Alerts that fired or resolved longer ago than this are not (re)sent (default 1 h). */
  readonly maxAgeMs?: number;
}

/** What is owed: one alert's event to one webhook. */
interface Due {
  readonly id: string;
  readonly event: 'firing' | 'resolved';
  readonly url: string;
}

/**
 * The deliveries owed, read from the alerts' folded state: an alert firing or resolved within
 * `maxAgeMs`, for each target that wants that event, with no delivery recorded yet or one still
 * being retried. The log is the outbox: what a dead evaluator left undelivered is owed again.
 * Pure.
 */
export function dueDeliveries(
  alerts: ReadonlyMap<string, AlertSnapshot>,
  targets: readonly AlertNotifyTarget[],
  now: number,
  maxAgeMs: number,
): Due[] {
  const out: Due[] = [];
  for (const [id, s] of alerts) {
    const state = stateName(s);
    if (state !== 'firing' && state !== 'resolved') continue;
    const at = state === 'firing' ? s.context.firedAt : s.context.endedAt;
    if (at === undefined || now - at > maxAgeMs) continue;
    for (const t of targets) {
      if (!t.on.includes(state)) continue;
      const status = s.context.notified[`${state} ${t.url}`];
      if (status === undefined || status === 'trying') out.push({ id, event: state, url: t.url });
    }
  }
  return out;
}

export interface AlertNotifier {
  /** Send what is owed now (after each evaluation round); deliveries run in the background. */
  sendDue(model: ReadModel): void;
  stop(): Promise<void>;
}

/**
 * Deliver firing and resolved alerts to the webhooks of alerts.yaml through the one webhook
 * sender (src/notify): at least once, the same `Idempotency-Key` (`<alert id>:<event>`) on
 * every attempt, and every attempt an `alert.notified` event with its outcome.
 */
export function startAlertNotifier(opts: AlertNotifierOptions): AlertNotifier {
  const sender = opts.sender ?? createWebhookSender({ userAgent: 'drover-alerts' });
  const clock = opts.clock ?? Date.now;
  const logger = opts.logger.child({ component: 'alert-notifier' });
  const inFlight = new Set<string>();

  async function deliver(due: Due, model: ReadModel): Promise<void> {
    const snapshot = model.alerts.get(due.id);
    const view = snapshot && alertView(due.id, snapshot);
    if (!view) return;
    const body = withSlackText(
      { ...view, alert: view.id, event: due.event, at: new Date(clock()).toISOString() },
      `${due.event === 'firing' ? 'FIRING' : 'resolved'}: ${view.summary}`,
    );
    const outcome = await sender.deliver(
      { url: due.url, body, idempotencyKey: `${due.id}:${due.event}` },
      async (a) => {
        const data = {
          event: due.event,
          url: due.url,
          attempt: a.attempt,
          ok: a.ok,
          ...(a.status !== undefined && { status: a.status }),
          ...(!a.ok && { error: a.error.slice(0, 1000) }),
          ...(!a.ok && a.retryInMs !== undefined && { retryInMs: Math.round(a.retryInMs) }),
        };
        const meta = {
          id: `alert-notify:${due.id}:${due.event}:${due.url}:${a.attempt}`,
          at: a.at,
          by: EVALUATOR,
        };
        const out = await opts.runtime.execute(alertBehaviour, due.id, {
          type: 'RecordNotification',
          ...meta,
          data,
        });
        if (!out.ok)
          logger.warn({ alert: due.id, why: out.rejection.message }, 'delivery not recorded');
      },
    );
    logger.info(
      { alert: due.id, event: due.event, ok: outcome.ok, attempts: outcome.attempts },
      'alert notified',
    );
  }

  return {
    sendDue(model) {
      if (!opts.targets.length) return;
      for (const due of dueDeliveries(
        model.alerts,
        opts.targets,
        clock(),
        opts.maxAgeMs ?? 3_600_000,
      )) {
        const key = `${due.id} ${due.event} ${due.url}`;
        if (inFlight.has(key)) continue;
        inFlight.add(key);
        void deliver(due, model)
          .catch((err: unknown) => logger.warn({ err, alert: due.id }, 'alert delivery failed'))
          .finally(() => inFlight.delete(key));
      }
    },
    async stop() {
      await sender.close();
    },
  };
}
