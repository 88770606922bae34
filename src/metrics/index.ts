export { sendMetrics, serveMetrics } from './metrics-http.service.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-http.service.js';
export { mergeRegistries, processRegistry, serviceRegistry } from './registries.js';
