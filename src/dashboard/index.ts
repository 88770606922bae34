export { startDashboard } from './dashboard.service.js';
export type { Dashboard, DashboardOptions } from './dashboard.service.js';
export { startFeed, sampleFairshare } from './feed.jetstream.js';
export type { Changes, FailureNote, FairSample, Feed } from './feed.jetstream.js';
export {
  chartRange,
  fairshareView,
  jobTree,
  jobsPage,
  MIN_CHART_MINUTES,
  overview,
  TIMELINE_CHUNKS,
} from './views.js';
export type { JobsQuery, Overview, QueueRow, RunningChunk } from './views.js';
export { farmGauges, registerFarmMetrics } from './farm-metrics.js';
export type { FarmGauges } from './farm-metrics.js';
export { shellQuote, shellQuoteWord } from './shell-quote.js';
export {
  ALERTS_SHOWN,
  alertsPanel,
  nodeMemoryRows,
  noteReading,
  promisesPanel,
  READINGS_KEPT,
  RECENT_RESOLVED_MS,
} from './ops-views.js';
export type { NodeMemoryRow, PromisePanelRow } from './ops-views.js';
