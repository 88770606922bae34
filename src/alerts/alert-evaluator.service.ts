import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { alertBehaviour, type AlertCommand, type EntityRuntime } from '../actors/index.js';
import type { Actor } from '../events/index.js';
import type { LiveModel } from '../api/index.js';
import {
  observeAlerts,
  planAlertRound,
  type AlertRules,
  type AlertStep,
} from '../policy/alerts/index.js';
import { alertInputsOf, occurrencesOf, type AlertFeeds } from './alert-inputs.js';
import { watchLease, type LeaseWatch } from './lease-watch.jetstream.js';

/** Who writes the evaluator's events (the audit names it). */
export const EVALUATOR: Actor = { kind: 'system', id: 'alert-evaluator' };

export interface AlertEvaluatorOptions {
  readonly nc: NatsConnection;
  readonly runtime: EntityRuntime;
  /** The API's live read model: the log folded, plus heartbeats (swap readings). */
  readonly live: LiveModel;
  readonly rules: AlertRules;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Period of a round (default 5 s). */
  readonly intervalMs?: number;
  /** A lease not renewed for this long means nobody leads (default 2 × the 5 s lease TTL). */
  readonly leaseStaleMs?: number;
  readonly feeds?: AlertFeeds;
  /** Called after each round with what it did (the notifier and tests listen here). */
  readonly onRound?: (report: RoundReport) => void | Promise<void>;
}

/** What one round did: its steps (appended or refused) and how long it took. */
export interface RoundReport {
  readonly at: number;
  readonly steps: readonly AlertStep[];
  readonly appended: number;
  readonly ms: { readonly inputs: number; readonly plan: number; readonly total: number };
}

export interface AlertEvaluator {
  /** Run one round now (tests and the bench; the timer runs them too). */
  round(): Promise<RoundReport>;
  stop(): Promise<void>;
}

/** The command a step sends through the alert machine. Deterministic ids: two evaluators that
 * take the same step write one event (the log deduplicates the id; the loser's reload refuses). */
function commandOf(step: AlertStep, at: number): AlertCommand {
  const meta = { id: `alert-eval:${step.id}:${step.kind}`, at, by: EVALUATOR };
  switch (step.kind) {
    case 'open': {
      const { rule, key, summary, details } = step.observation;
      return { type: 'OpenAlert', ...meta, data: { rule, key, summary, details } };
    }
    case 'fire': {
      const { summary, details } = step.observation;
      return { type: 'FireAlert', ...meta, data: { summary, details } };
    }
    case 'resolve': {
      const { summary, details } = step.observation;
      return { type: 'ResolveAlert', ...meta, data: { summary, details } };
    }
    case 'withdraw':
      return { type: 'WithdrawAlert', ...meta, data: { reason: step.reason.slice(0, 1000) } };
    default: {
      const _exhaustive: never = step;
      return _exhaustive;
    }
  }
}

/**
 * The alert evaluator: every `intervalMs`, read the rules' inputs from the read model, the
 * heartbeats and the scheduler lease, plan the round (pure, with hysteresis) and send each step
 * through the alert machine with an expected-sequence append.
 *
 * It runs beside the API service, not in the scheduler: "no scheduler leads" is one of its
 * rules, so it must not need a leader to run, and the API already folds the whole log. Several
 * API services may each run one: every step is decided against the alert's folded state and
 * appended on its last sequence, so a step another evaluator already took is refused, never
 * written twice.
 */
export function startAlertEvaluator(opts: AlertEvaluatorOptions): AlertEvaluator {
  const clock = opts.clock ?? Date.now;
  const logger = opts.logger.child({ component: 'alerts' });
  const lease: LeaseWatch = watchLease(opts.nc, opts.leaseStaleMs ?? 10_000);
  let clearSince = new Map<string, number>();
  let running: Promise<RoundReport> | undefined;
  let stopped = false;

  async function once(): Promise<RoundReport> {
    const t0 = performance.now();
    const now = clock();
    const leader = await lease.observe(now);
    const model = opts.live.model;
    const inputs = alertInputsOf(model, now, opts.rules, leader, opts.feeds);
    const t1 = performance.now();
    const observations = observeAlerts(inputs, opts.rules);
    const plan = planAlertRound(
      occurrencesOf(model.alerts),
      observations,
      clearSince,
      opts.rules,
      now,
    );
    clearSince = plan.clearSince;
    const t2 = performance.now();
    let appended = 0;
    let lastSeq = 0;
    for (const step of plan.steps) {
      const out = await opts.runtime.execute(alertBehaviour, step.id, commandOf(step, now));
      if (out.ok) {
        appended += out.events.length;
        lastSeq = Math.max(lastSeq, out.lastSeq);
        logger.info({ alert: step.id, step: step.kind }, 'alert transition');
      } else logger.debug({ alert: step.id, why: out.rejection.message }, 'alert step refused');
    }
    // The next round plans from the state this one wrote.
    if (lastSeq) await opts.live.reach(lastSeq).catch(() => undefined);
    const report: RoundReport = {
      at: now,
      steps: plan.steps,
      appended,
      ms: { inputs: t1 - t0, plan: t2 - t1, total: performance.now() - t0 },
    };
    await opts.onRound?.(report);
    return report;
  }

  const round = () => {
    // Rounds never overlap: a slow one makes the next wait.
    running = (running ?? Promise.resolve(undefined as unknown as RoundReport))
      .catch(() => undefined)
      .then(once);
    return running;
  };
  const timer = setInterval(() => {
    if (stopped) return;
    round().catch((err: unknown) => logger.warn({ err }, 'alert round failed'));
  }, opts.intervalMs ?? 5000);
  timer.unref();
  return {
    round,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
