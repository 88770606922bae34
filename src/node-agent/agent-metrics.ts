import { Counter, Gauge, type Registry } from 'prom-client';
import type { FailureCause } from '../events/index.js';
import type { NodeStats } from './node-stats.js';

/**
 * What one agent reports as it works: the port the agent's worker code calls. The Prometheus
 * side is `createAgentMetrics(registry).forNode(...)`.
 */
export interface AgentMetrics {
  /** A process group was started. */
  launched(): void;
  /** A worker ended, by its one failure cause (`Succeeded` included). */
  exited(cause: FailureCause): void;
  /** A reading of the node (memory, swap rates, load). */
  sampled(stats: NodeStats): void;
}

/** The agents of one process, sharing one registry (`drover up` runs several). */
export interface AgentMetricsFamily {
  /** The metrics of node `node`; `workers` reads its live worker count at scrape time. */
  forNode(node: string, workers: () => number): AgentMetrics;
  /** Forget a stopped agent's live gauges (its counters stay: they are totals). */
  remove(node: string): void;
}

/**
 * Agent and node metrics in `registry` (`drover_agent_*`, `drover_node_*`), labelled by `node`
 * (one per agent: bounded) and `cause` (the closed set of failure causes). One family per
 * registry: several agents in one process get one `forNode` each, so the merged page names
 * every metric once.
 */
export function createAgentMetrics(registry: Registry): AgentMetricsFamily {
  const registers = [registry];
  const workersOf = new Map<string, () => number>();
  new Gauge({
    name: 'drover_agent_workers',
    help: 'Workers (process groups) the agent supervises now',
    labelNames: ['node'] as const,
    registers,
    collect() {
      this.reset();
      for (const [node, count] of workersOf) this.set({ node }, count());
    },
  });
  const launches = new Counter({
    name: 'drover_agent_launches_total',
    help: 'Process groups started by the agent',
    labelNames: ['node'] as const,
    registers,
  });
  const exits = new Counter({
    name: 'drover_agent_exits_total',
    help: 'Workers ended, by failure cause (Succeeded included)',
    labelNames: ['node', 'cause'] as const,
    registers,
  });
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['node'] as const, registers });
  const memTotal = gauge('drover_node_memory_total_bytes', "The node's memory (MemTotal)");
  const memAvailable = gauge(
    'drover_node_memory_available_bytes',
    "The node's available memory (MemAvailable)",
  );
  const swapUsed = gauge('drover_node_swap_used_bytes', 'Swap in use (SwapTotal - SwapFree)');
  const swapIn = gauge(
    'drover_node_swap_in_pages_per_second',
    'Pages swapped in per second between the last two /proc/vmstat readings (pswpin)',
  );
  const swapOut = gauge(
    'drover_node_swap_out_pages_per_second',
    'Pages swapped out per second between the last two /proc/vmstat readings (pswpout)',
  );
  const loads = [
    gauge('drover_node_load1', '1-minute load average'),
    gauge('drover_node_load5', '5-minute load average'),
    gauge('drover_node_load15', '15-minute load average'),
  ] as const;
  return {
    forNode(node, workers) {
      workersOf.set(node, workers);
      launches.inc({ node }, 0);
      return {
        launched: () => launches.inc({ node }),
        exited: (cause) => exits.inc({ node, cause }),
        sampled(s) {
          if (s.memory) {
            memTotal.set({ node }, s.memory.totalBytes);
            memAvailable.set({ node }, s.memory.availableBytes);
            swapUsed.set({ node }, s.memory.swapTotalBytes - s.memory.swapFreeBytes);
          }
          swapIn.set({ node }, s.swapInPerSecond);
          swapOut.set({ node }, s.swapOutPerSecond);
          loads.forEach((g, i) => g.set({ node }, s.load[i] ?? 0));
        },
      };
    },
    remove(node) {
      workersOf.delete(node);
      for (const g of [memTotal, memAvailable, swapUsed, swapIn, swapOut, ...loads])
        g.remove({ node });
    },
  };
}
