import { configOfState, type FairshareState } from '../projections/index.js';
import { defaultFairShareConfig } from '../policy/index.js';

/** `86400` → `24h`, `90` → `90s`: a half-life as `fairshare config --half-life` takes it. Pure. */
export function formatDuration(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * The line above `drover fairshare`'s table: which policy version ranked it and what it says
 * (version 0: the POLICY defaults, nothing set in the log). Pure.
 */
export function fairsharePolicyLine(s: FairshareState): string {
  const { version, config } = configOfState(s, defaultFairShareConfig);
  const weights = Object.entries(s.policy.context.weights)
    .map(([u, w]) => `${u}=${w}`)
    .join(' ');
  const source = version === 0 ? 'defaults' : `policy v${version}`;
  return `fair-share ${source}: half-life ${formatDuration(config.halfLifeS)}, lambda ${config.lambda}, weights ${weights || 'all 1'}`;
}
