import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the API service reports per request: the port `startApiService` calls. */
export interface ApiMetrics {
  /**
   * One request answered: `op` is an `ApiOp` or `unknown` (a bounded set: never the subject),
   * `outcome` is `ok` or the reply's error code.
   */
  request(op: string, outcome: string, seconds: number): void;
  /** The read model to report the size of (its jobs, and what its retention let go of). */
  watch?(live: WatchedModel): void;
}

/** What the read model gauges read, at each scrape. */
export interface WatchedModel {
  readonly model: { readonly jobs: { readonly size: number } };
  readonly retention: { readonly retired: number; readonly waiting: number };
}

/** An API that reports nowhere (the default). */
export const noApiMetrics: ApiMetrics = { request: () => {} };

/** Latency buckets (seconds): a tenth of a millisecond to 5 s. */
const LATENCY_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** The API's Prometheus metrics in `registry` (`drover_api_*`). */
export function createApiMetrics(registry: Registry): ApiMetrics {
  const requests = new Counter({
    name: 'drover_api_requests_total',
    help: 'API requests answered, by operation and outcome (ok or the error code)',
    labelNames: ['op', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'drover_api_request_duration_seconds',
    help: 'Time from a request reaching the service to its reply, by operation',
    labelNames: ['op'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  let watched: WatchedModel | undefined;
  new Gauge({
    name: 'drover_api_read_model_jobs',
    help: 'Jobs in the API read model: held, or finished and waiting for their retention',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      if (!watched) return;
      this.set({ kind: 'held' }, watched.model.jobs.size);
      this.set({ kind: 'waiting' }, watched.retention.waiting);
    },
  });
  new Gauge({
    name: 'drover_api_read_model_retired_jobs',
    help: 'Finished jobs the API read model let go of since the service started (read from the log on demand)',
    registers: [registry],
    collect() {
      if (watched) this.set(watched.retention.retired);
    },
  });
  return {
    watch(live) {
      watched = live;
    },
    request(op, outcome, seconds) {
      requests.inc({ op, outcome });
      latency.observe({ op }, seconds);
    },
  };
}
