import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A fresh registry for one service. Never prom-client's global default registry: `drover up`
 * runs the scheduler, the API, the agents and the dashboard in one process, and each keeps its
 * own registry; the dashboard's `/metrics` shows them merged (`mergeRegistries`).
 */
export function serviceRegistry(): Registry {
  return new Registry();
}

/**
 * A registry with the client library's process metrics (`process_*`, `nodejs_*`). Make one per
 * process: two of them in one merged page would name the same metrics twice.
 */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * One registry that reads all of `registries` (the same metric objects, so values stay live).
 * Throws when two registries hold a metric of the same name: each service's metrics have their
 * own prefix (`drover_scheduler_`, `drover_api_`, `drover_agent_`, `drover_node_`,
 * `drover_farm_`), and the agents of one process share one registry with a `node` label.
 */
export function mergeRegistries(registries: readonly Registry[]): Registry {
  return Registry.merge([...registries]);
}
