import type { Logger } from 'pino';
import { runBehaviour, type EntityRuntime } from '../actors/index.js';
import type { LiveModel } from '../api/index.js';
import {
  dueNotifications,
  notificationText,
  type DueNotification,
} from '../policy/pipeline/index.js';
import { runFactsOf } from './run-facts.js';
import { escapeSlack, withSlackText } from './slack-text.js';
import { createWebhookSender, type WebhookSender } from './webhook-sender.service.js';

export interface RunNotifierOptions {
  readonly runtime: EntityRuntime;
  readonly live: LiveModel;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly sender?: WebhookSender;
  /** How often to look for what is owed (default 1 s). */
  readonly intervalMs?: number;
  /** What happened longer ago than this is not (re)sent (default 24 h). */
  readonly maxAgeMs?: number;
}

export interface RunNotifier {
  /** Look for what is owed now and start delivering it (rounds call this too). */
  sendDue(): void;
  stop(): Promise<void>;
}

const NOTIFIER = { kind: 'system', id: 'run-notifier' } as const;

/** The JSON a webhook receives (CONTRACT), with Slack's `text` beside it. Pure. */
export function notificationBody(n: DueNotification) {
  return withSlackText(
    {
      workflow: n.workflow,
      run: n.run,
      ...(n.task !== undefined && { task: n.task }),
      event: n.event,
      ...(n.attempt !== undefined && { attempt: n.attempt }),
      at: new Date(n.at).toISOString(),
    },
    escapeSlack(notificationText(n)),
  );
}

/**
 * Deliver the workflows' notifications (`notify: [{ url, on }]`) beside the API: every round,
 * what is owed (`dueNotifications`, pure, over the runs of the read model) goes through the one
 * webhook sender with its `Idempotency-Key`, retried with backoff, and every attempt is a
 * `run.notified` event on the run. At least once: the log is the outbox, so what a crashed
 * notifier left unrecorded or `trying` is sent again with the same key, its attempts numbered on
 * from the last recorded one; within one process a delivery in flight is never started twice.
 */
export function startRunNotifier(opts: RunNotifierOptions): RunNotifier {
  const sender = opts.sender ?? createWebhookSender({ userAgent: 'drover-notify' });
  const clock = opts.clock ?? Date.now;
  const logger = opts.logger.child({ component: 'run-notifier' });
  const inFlight = new Set<string>();

  async function deliver(n: DueNotification): Promise<void> {
    let lastSeq = 0;
    const outcome = await sender.deliver(
      { url: n.url, body: notificationBody(n), idempotencyKey: n.key },
      async (a) => {
        const attempt = n.recorded + a.attempt;
        const out = await opts.runtime.execute(runBehaviour, n.run, {
          type: 'RecordNotification',
          id: `notify:${n.key}:${n.url}:${attempt}`,
          at: a.at,
          by: NOTIFIER,
          data: {
            key: n.key,
            event: n.event,
            ...(n.task !== undefined && { task: n.task }),
            url: n.url,
            attempt,
            ok: a.ok,
            ...(a.status !== undefined && { status: a.status }),
            ...(!a.ok && { error: a.error.slice(0, 1000) }),
            ...(!a.ok && a.retryInMs !== undefined && { retryInMs: Math.round(a.retryInMs) }),
          },
        });
        if (!out.ok)
          logger.warn({ run: n.run, why: out.rejection.message }, 'delivery not recorded');
        else lastSeq = Math.max(lastSeq, out.lastSeq);
      },
    );
    logger.info(
      { run: n.run, key: n.key, ok: outcome.ok, attempts: outcome.attempts },
      'run notified',
    );
    // Not owed again until the read model holds the record: the next round must not resend it.
    if (lastSeq > 0) await opts.live.reach(lastSeq);
  }

  function sendDue(): void {
    const now = clock();
    const due = dueNotifications(runFactsOf(opts.live.model), now, opts.maxAgeMs ?? 86_400_000);
    for (const n of due) {
      const key = `${n.key} ${n.url}`;
      if (inFlight.has(key)) continue;
      inFlight.add(key);
      void deliver(n)
        .catch((err: unknown) => logger.warn({ err, run: n.run }, 'run notification failed'))
        .finally(() => inFlight.delete(key));
    }
  }

  const timer = setInterval(sendDue, opts.intervalMs ?? 1_000);
  timer.unref();
  return {
    sendDue,
    async stop() {
      clearInterval(timer);
      await sender.close();
    },
  };
}
