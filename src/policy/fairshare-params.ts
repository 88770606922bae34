import type { FairShareConfig } from './types.js';

/**
 * The fair-share parameters as the log states them (the `policy` entity `fairshare`'s folded
 * context): its version, the weights set so far, and the half-life and λ once configured.
 * Structural, so this folder needs nothing from `actors`.
 */
export interface FairShareParams {
  readonly version: number;
  readonly weights: Readonly<Record<string, number>>;
  readonly halfLifeS?: number;
  readonly lambda?: number;
}

/** A fair-share config together with the policy version it comes from (0: no change logged). */
export interface VersionedConfig {
  readonly version: number;
  readonly config: FairShareConfig;
}

/**
 * The config in force: `base` (the POLICY defaults, or a service's start-up options) overlaid
 * with what the log set. Pure. The scheduler's placement loop and `drover fairshare` both call
 * this on the same fold of the same events, which is what makes them read the same version.
 * A weight set in the log replaces a base weight of the same user; a configured half-life also
 * becomes the horizon unless the base fixed one.
 */
export function fairShareConfigOf(
  params: FairShareParams | undefined,
  base: FairShareConfig,
): VersionedConfig {
  if (!params || params.version === 0) return { version: 0, config: base };
  const config: FairShareConfig = {
    ...base,
    ...(params.halfLifeS !== undefined && { halfLifeS: params.halfLifeS }),
    ...(params.lambda !== undefined && { lambda: params.lambda }),
    weights: { ...base.weights, ...params.weights },
  };
  return { version: params.version, config };
}
