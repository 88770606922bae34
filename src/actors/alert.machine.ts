import { assign, setup } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import type { Actor, AlertEvent, AlertRuleId } from '../events/index.js';
import { createFold } from './evolve.js';
import type { GuardDocs } from './evolve.js';

/** One acknowledgement: who saw the alert, when. */
export interface AlertAck {
  readonly by: Actor;
  readonly at: number;
  readonly note?: string;
}

/**
 * Context of the alert machine: one occurrence of a rule's condition for one key. The summary
 * and details are the latest the evaluator wrote (opened, then fired, then resolved).
 */
export interface AlertContext {
  readonly rule?: AlertRuleId;
  readonly key?: string;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly openedAt?: number;
  readonly firedAt?: number;
  readonly endedAt?: number;
  readonly acks: readonly AlertAck[];
  /**
   * Webhook deliveries by `<event> <url>`: `trying` after a failed attempt with a retry to
   * come, `delivered` or `failed` (last attempt) once ended. The evaluator's outbox: what is
   * missing or still trying when it starts is sent again, with the same idempotency key.
   */
  readonly notified: Readonly<Record<string, 'trying' | 'delivered' | 'failed'>>;
}

type Guard = (args: { context: AlertContext; event: AlertEvent }) => boolean;

/** Named guards of the alert machine. Pure. */
const alertGuards = {
  byPerson: ({ event }) => event.by.kind === 'user' || event.by.kind === 'admin',
} satisfies Record<string, Guard>;

/** Words for every guard of the alert machine. */
export const alertGuardDocs = {
  byPerson: 'by.kind is user or admin: acknowledging is for people, never for a service',
} as const satisfies Record<keyof typeof alertGuards, string> & GuardDocs;

const alertSetup = setup({
  types: { context: {} as AlertContext, events: {} as AlertEvent },
  guards: alertGuards,
  actions: {
    recordOpened: assign(({ event }) =>
      event.type === 'alert.opened'
        ? {
            rule: event.data.rule,
            key: event.data.key,
            summary: event.data.summary,
            details: event.data.details,
            openedAt: event.at,
          }
        : {},
    ),
    recordFired: assign(({ event }) =>
      event.type === 'alert.fired'
        ? { summary: event.data.summary, details: event.data.details, firedAt: event.at }
        : {},
    ),
    recordEnded: assign(({ event }) =>
      event.type === 'alert.resolved'
        ? { summary: event.data.summary, details: event.data.details, endedAt: event.at }
        : { endedAt: event.at },
    ),
    recordNotified: assign(({ context, event }) => {
      if (event.type !== 'alert.notified') return {};
      const d = event.data;
      const status = d.ok ? 'delivered' : d.retryInMs !== undefined ? 'trying' : 'failed';
      return { notified: { ...context.notified, [`${d.event} ${d.url}`]: status } };
    }),
    recordAck: assign(({ context, event }) => ({
      acks: [
        ...context.acks,
        {
          by: event.by,
          at: event.at,
          ...(event.type === 'alert.acknowledged' &&
            event.data.note !== undefined && { note: event.data.note }),
        },
      ],
    })),
  },
});

const ack = {
  'alert.acknowledged': { guard: 'byPerson', actions: 'recordAck' },
} as const;
const notified = { 'alert.notified': { actions: 'recordNotified' } } as const;

/**
 * The alert machine (DESIGN "wave-2 parts"). Pure. `pending` when a rule's condition starts to
 * hold; `firing` once it held for the rule's `for`; `resolved` by itself once the condition was
 * clear for the rule's `clearFor` — no person is needed; `withdrawn` when it cleared before
 * firing. Resolved and withdrawn are final: a new occurrence is a new alert. A person may
 * acknowledge it in any state but withdrawn; that is recorded and changes no state. Webhook
 * deliveries of a firing or resolved alert are recorded on it too (`alert.notified`).
 */
export const alertMachine = alertSetup.createMachine({
  id: 'alert',
  initial: 'none',
  context: { summary: '', details: {}, acks: [], notified: {} },
  states: {
    none: { on: { 'alert.opened': { target: 'pending', actions: 'recordOpened' } } },
    pending: {
      on: {
        'alert.fired': { target: 'firing', actions: 'recordFired' },
        'alert.withdrawn': { target: 'withdrawn', actions: 'recordEnded' },
        ...ack,
      },
    },
    firing: {
      on: {
        'alert.resolved': { target: 'resolved', actions: 'recordEnded' },
        ...ack,
        ...notified,
      },
    },
    resolved: { on: { ...ack, ...notified } },
    withdrawn: {},
  },
});

/** An alert as folded from its events. */
export type AlertSnapshot = SnapshotFrom<typeof alertMachine>;

/** The fold of alert events (pure; throws `InvalidTransitionError` on a rejected event). */
export const alertFold = createFold(alertMachine, alertGuardDocs);
