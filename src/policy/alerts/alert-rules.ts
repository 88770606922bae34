import { z } from 'zod';
import type { AlertRuleId } from '../../events/index.js';

/** A duration in a rules file: `90s`, `5m`, `2h`, `1d`, or a number of seconds. */
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration (`5m` → 300000); undefined when it is not one. Pure. */
export function durationMs(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  const m = DURATION.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS];
}

const Duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = durationMs(v);
  if (ms === undefined || ms > 30 * UNIT_MS.d) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like 30s, 5m or 2h (≤ 30d)' });
    return z.NEVER;
  }
  return ms;
});

/**
 * Timing every rule shares: the condition must hold for `for` before the alert fires, and be
 * clear for `clearFor` before it resolves (the hysteresis that keeps it from flapping).
 */
const timing = (forMs: string, clearFor: string) => ({
  enabled: z.boolean().default(true),
  for: Duration.prefault(forMs),
  clearFor: Duration.prefault(clearFor),
});

const Share = z.number().min(0).max(1);

/** The rules file (`alerts.yaml`): every rule optional, every field defaulted. */
export const AlertRulesSchema = z.strictObject({
  rules: z
    .strictObject({
      /** Nodes swapping: a node swaps when pages in + out per second ≥ `pagesPerSecond`. */
      swapping: z
        .strictObject({
          ...timing('2m', '2m'),
          share: Share.default(0.2),
          /** Resolves only below this share (≤ `share`): hysteresis on the level too. */
          clearShare: Share.optional(),
          pagesPerSecond: z.number().positive().default(100),
        })
        .prefault({}),
      'node-lost': z.strictObject(timing('0s', '0s')).prefault({}),
      /** p95 of queue waits (still waiting, or started within `window`) above `p95`. */
      'queue-wait': z
        .strictObject({
          ...timing('5m', '5m'),
          p95: Duration.prefault('30m'),
          window: Duration.prefault('1h'),
          /** Fewer waits than this say nothing about a p95. */
          minJobs: z.number().int().positive().default(5),
        })
        .prefault({}),
      'run-deadline': z.strictObject(timing('0s', '0s')).prefault({}),
      'broken-promise': z.strictObject(timing('0s', '0s')).prefault({}),
      'no-leader': z.strictObject(timing('15s', '10s')).prefault({}),
    })
    .prefault({}),
  /** Webhooks told of alerts that fire and resolve (through src/notify, each delivery an event). */
  notify: z
    .array(
      z.strictObject({
        url: z.url({ protocol: /^https?$/ }),
        on: z
          .array(z.enum(['firing', 'resolved']))
          .min(1)
          .default(['firing', 'resolved']),
      }),
    )
    .max(20)
    .default([]),
});

/** A webhook of the rules file. */
export type AlertNotifyTarget = z.infer<typeof AlertRulesSchema>['notify'][number];

/** The rules with every default filled in (durations in milliseconds). */
export type AlertRules = z.infer<typeof AlertRulesSchema>['rules'];
/** The timing of one rule. */
export interface RuleTiming {
  readonly enabled: boolean;
  readonly for: number;
  readonly clearFor: number;
}

/** The built-in rules: what a farm without `alerts.yaml` gets. Pure. */
export function defaultAlertRules(): AlertRules {
  return AlertRulesSchema.parse({}).rules;
}

/** The timing of a rule. Pure. */
export function timingOf(rules: AlertRules, rule: AlertRuleId): RuleTiming {
  return rules[rule];
}

/** One problem of a rules file, at its path (`rules.swapping.share`). */
export interface RuleIssue {
  readonly path: string;
  readonly message: string;
}

const pathOf = (path: readonly PropertyKey[]) =>
  path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  );

/**
 * Validate a parsed rules file (YAML or JSON): the rules with defaults filled in, or every
 * problem at its path. An empty file (`null`) is the defaults. Pure.
 */
export function parseAlertRules(
  input: unknown,
):
  | { ok: true; rules: AlertRules; notify: AlertNotifyTarget[] }
  | { ok: false; issues: RuleIssue[] } {
  const parsed = AlertRulesSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: pathOf(i.path) || '(file)',
      message: i.message,
    }));
    return { ok: false, issues };
  }
  const { swapping } = parsed.data.rules;
  if (swapping.clearShare !== undefined && swapping.clearShare > swapping.share) {
    return {
      ok: false,
      issues: [{ path: 'rules.swapping.clearShare', message: 'must be ≤ rules.swapping.share' }],
    };
  }
  return { ok: true, rules: parsed.data.rules, notify: parsed.data.notify };
}
