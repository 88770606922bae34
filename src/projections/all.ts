import type { FairShareConfig } from '../policy/index.js';
import { auditProjection } from './audit.projection.js';
import { decisionsProjection } from './decisions.projection.js';
import { createFairshareProjection } from './fairshare.projection.js';
import type { Projection } from './projection.js';
import { throughputProjection } from './throughput.projection.js';
import { usageProjection } from './usage.projection.js';

/**
 * Every projection Drover keeps, in a fixed order (usage, audit, fairshare, decisions,
 * throughput). Pure: fresh projection objects; `config` sets the fair-share half-life.
 */
export function allProjections(config?: FairShareConfig): Projection<unknown>[] {
  return [
    usageProjection,
    auditProjection,
    createFairshareProjection(config),
    decisionsProjection,
    throughputProjection,
  ] as Projection<unknown>[];
}
