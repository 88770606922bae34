import type { AlertRuleId } from '../../events/index.js';
import type { Observation } from './alert-conditions.js';
import type { AlertRules, RuleTiming } from './alert-rules.js';

/** The latest occurrence of a rule's alert for one key, as folded from the log. */
export interface AlertOccurrence {
  readonly id: string;
  readonly rule: AlertRuleId;
  readonly key: string;
  /** Its machine's state: `pending`, `firing`, `resolved` or `withdrawn`. */
  readonly state: string;
  readonly openedAt: number;
  /** Its occurrence number (1, 2, ...): the next one of the same rule and key is `n + 1`. */
  readonly n: number;
}

/** What a round decides for one alert: a command the evaluator sends through the machine. */
export type AlertStep =
  | { readonly kind: 'open'; readonly id: string; readonly observation: Observation }
  | { readonly kind: 'fire'; readonly id: string; readonly observation: Observation }
  | { readonly kind: 'resolve'; readonly id: string; readonly observation: Observation }
  | { readonly kind: 'withdraw'; readonly id: string; readonly reason: string };

/**
 * When each firing alert's condition was first seen clear in the current clear stretch (ms).
 * The evaluator's own memory, not state of the alert: after a restart it starts again, which
 * only delays a resolution, never hastens one.
 */
export type ClearSince = ReadonlyMap<string, number>;

/** A key usable in an alert id: letters, digits, `_` and `-` (`NAME@DATE` → `NAME_DATE`). */
export const slugOf = (key: string): string => key.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);

/** The id of occurrence `n` of `rule` for `key` (`node-lost-node-3-2`). Pure. */
export const alertIdOf = (rule: AlertRuleId, key: string, n: number): string =>
  `${rule}-${slugOf(key)}-${n}`;

const clearObservation = (o: AlertOccurrence): Observation => ({
  rule: o.rule,
  key: o.key,
  level: 'clear',
  summary: `${o.rule} ${o.key}: condition clear`,
  details: {},
});

/** Step one rule and key. Pure. */
function stepOne(
  current: AlertOccurrence | undefined,
  obs: Observation,
  timing: RuleTiming,
  since: number | undefined,
  now: number,
): { steps: AlertStep[]; clearSince?: number } {
  const live = current && (current.state === 'pending' || current.state === 'firing');
  if (!live) {
    if (obs.level !== 'active') return { steps: [] };
    const id = alertIdOf(obs.rule, obs.key, (current?.n ?? 0) + 1);
    const open: AlertStep = { kind: 'open', id, observation: obs };
    // A rule without `for` fires in the round that sees it.
    return { steps: timing.for <= 0 ? [open, { kind: 'fire', id, observation: obs }] : [open] };
  }
  const { id } = current;
  if (current.state === 'pending') {
    if (obs.level !== 'active')
      return { steps: [{ kind: 'withdraw', id, reason: `cleared before firing: ${obs.summary}` }] };
    const due = now - current.openedAt >= timing.for;
    return { steps: due ? [{ kind: 'fire', id, observation: obs }] : [] };
  }
  if (obs.level !== 'clear') return { steps: [] };
  const clearSince = since ?? now;
  if (now - clearSince >= timing.clearFor)
    return { steps: [{ kind: 'resolve', id, observation: obs }] };
  return { steps: [], clearSince };
}

/**
 * One evaluation round: from the latest occurrence of each rule and key, this round's
 * observations and the clear stretches seen so far, the commands to send and the clear
 * stretches to remember. Pure.
 *
 * Hysteresis, so an alert does not flap: it fires only after its condition was `active` in
 * every round for the rule's `for` (any other level withdraws it), and resolves only after it
 * was `clear` in every round for `clearFor` (a `hold` or `active` round restarts the count);
 * rules with a level put a `hold` band between the two thresholds. A key a round does not
 * observe is clear. A disabled rule's live alerts resolve.
 */
export function planAlertRound(
  occurrences: readonly AlertOccurrence[],
  observations: readonly Observation[],
  clearSince: ClearSince,
  rules: AlertRules,
  now: number,
): { steps: AlertStep[]; clearSince: Map<string, number> } {
  const latest = new Map<string, AlertOccurrence>();
  for (const o of occurrences) {
    const k = `${o.rule}\u0000${o.key}`;
    if ((latest.get(k)?.n ?? 0) < o.n) latest.set(k, o);
  }
  const seen = new Map<string, Observation>();
  for (const obs of observations) seen.set(`${obs.rule}\u0000${obs.key}`, obs);
  for (const [k, o] of latest) {
    if (!seen.has(k) && (o.state === 'pending' || o.state === 'firing'))
      seen.set(k, clearObservation(o));
  }
  const steps: AlertStep[] = [];
  const next = new Map<string, number>();
  for (const [k, obs] of seen) {
    const current = latest.get(k);
    const out = stepOne(current, obs, rules[obs.rule], current && clearSince.get(current.id), now);
    steps.push(...out.steps);
    if (current && out.clearSince !== undefined) next.set(current.id, out.clearSince);
  }
  return { steps, clearSince: next };
}
