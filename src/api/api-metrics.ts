import { Counter, Histogram, type Registry } from 'prom-client';

/** What the API service reports per request: the port `startApiService` calls. */
export interface ApiMetrics {
  /**
   * One request answered: `op` is an `ApiOp` or `unknown` (a bounded set: never the subject),
   * `outcome` is `ok` or the reply's error code.
   */
  request(op: string, outcome: string, seconds: number): void;
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
  return {
    request(op, outcome, seconds) {
      requests.inc({ op, outcome });
      latency.observe({ op }, seconds);
    },
  };
}
