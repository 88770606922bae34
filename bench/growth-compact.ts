import { connect } from '@nats-io/transport-node';
import type { CompactionStep, compactLog as CompactLog } from '../src/events/index.js';

/**
 * One `compactLog` in a process of its own, as `drover compact` runs (its peak RSS is its own):
 * moves every job tree done by `cutAt`. Prints one JSON line: what moved, each step's ms (plan,
 * copy, check, record, purge), how the purge went (prefix calls, subject calls, kinds refused)
 * and the peak RSS. GROWTH_COMPACT_SRC: another tree's `src/events/index.ts` (an older compactor
 * on the same log, for a before/after; it may report no steps).
 */
const { compactLog } = (await import(
  process.env.GROWTH_COMPACT_SRC ?? '../src/events/index.js'
)) as { compactLog: typeof CompactLog };
const { url, cutAt } = JSON.parse(process.env.GROWTH_COMPACT ?? '{}') as {
  url: string;
  cutAt: number;
};
const nc = await connect({ servers: url });
const steps: Partial<Record<CompactionStep, number>> = {};
let last = 0;
let purge: unknown;
const report = await compactLog(nc, {
  olderThanMs: 0,
  now: cutAt,
  onStep: (step, elapsedMs, detail) => {
    steps[step] = elapsedMs - last;
    last = elapsedMs;
    if (detail) purge = detail;
  },
});
await nc.close();
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(
  JSON.stringify({
    ms: report.elapsedMs,
    moved: report.messages,
    jobs: report.jobs,
    subjects: report.subjects,
    scanned: report.scanned.messages,
    steps,
    purge,
    peakRssMb,
  }),
);
