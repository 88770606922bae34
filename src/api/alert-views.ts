import { stateName, type AlertSnapshot } from '../actors/index.js';
import type { ReadModel } from './read-model.js';

/**
 * An alert as `drover alerts` shows it (CONTRACT "Operations"): `since` is when it fired,
 * `resolvedAt` when it resolved by itself; times are ISO 8601 (UTC). `key` (what it is about:
 * a node, a run, a job, or `farm`) and `acks` (who acknowledged it) are additions.
 */
export interface AlertView {
  readonly id: string;
  readonly rule: string;
  readonly key: string;
  readonly state: 'firing' | 'resolved';
  readonly since: string;
  readonly resolvedAt?: string;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly acks: readonly { readonly by: string; readonly at: string; readonly note?: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The view of one alert; undefined for one that never fired (pending or withdrawn). Pure. */
export function alertView(id: string, s: AlertSnapshot): AlertView | undefined {
  const state = stateName(s);
  const c = s.context;
  if ((state !== 'firing' && state !== 'resolved') || c.firedAt === undefined) return undefined;
  return {
    id,
    rule: c.rule ?? '?',
    key: c.key ?? '?',
    state,
    since: iso(c.firedAt),
    ...(state === 'resolved' && c.endedAt !== undefined && { resolvedAt: iso(c.endedAt) }),
    summary: c.summary,
    details: c.details,
    acks: c.acks.map((a) => ({
      by: `${a.by.kind}:${a.by.id}`,
      at: iso(a.at),
      ...(a.note !== undefined && { note: a.note }),
    })),
  };
}

/**
 * Alerts that fired: the firing ones, or with `all` the resolved ones too; firing first, then
 * newest first. Pure.
 */
export function alertList(model: ReadModel, opts: { all?: boolean } = {}): AlertView[] {
  const out: AlertView[] = [];
  for (const [id, s] of model.alerts) {
    const v = alertView(id, s);
    if (v && (opts.all || v.state === 'firing')) out.push(v);
  }
  const rank = (v: AlertView) => (v.state === 'firing' ? 0 : 1);
  return out.sort(
    (a, b) => rank(a) - rank(b) || (b.resolvedAt ?? b.since).localeCompare(a.resolvedAt ?? a.since),
  );
}
