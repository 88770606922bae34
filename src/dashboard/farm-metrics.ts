import { Gauge, type Registry } from 'prom-client';
import { JOB_STATES, nodeList, publicState, type ReadModel } from '../api/index.js';

/** The farm as a handful of numbers, folded from the read model. */
export interface FarmGauges {
  readonly seq: number;
  readonly jobs: Readonly<Record<string, number>>;
  readonly nodes: Readonly<Record<string, number>>;
  readonly liveChunks: number;
  readonly capacity: { cpus: number; memMb: number; gpus: number };
  readonly used: { cpus: number; memMb: number; gpus: number };
}

/**
 * Jobs by public state (every state present, zeros included, so a series never vanishes),
 * nodes by state, live chunks, and capacity against use on nodes that are not offline. Pure.
 */
export function farmGauges(model: ReadModel): FarmGauges {
  const jobs: Record<string, number> = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
  for (const job of model.jobs.values()) {
    const s = publicState(job);
    if (s) jobs[s] = (jobs[s] ?? 0) + 1;
  }
  const nodes: Record<string, number> = {};
  const capacity = { cpus: 0, memMb: 0, gpus: 0 };
  const used = { cpus: 0, memMb: 0, gpus: 0 };
  for (const n of nodeList(model)) {
    nodes[n.state] = (nodes[n.state] ?? 0) + 1;
    used.cpus += n.used.cpus;
    used.memMb += n.used.memMb;
    used.gpus += n.used.gpus;
    if (n.state === 'offline' || n.state === 'lost') continue;
    capacity.cpus += n.cpus;
    capacity.memMb += n.memMb;
    capacity.gpus += n.gpus;
  }
  return { seq: model.seq, jobs, nodes, liveChunks: model.liveChunks.size, capacity, used };
}

const MB = 1024 * 1024;

/**
 * Farm-level gauges (`drover_farm_*`) in `registry`, computed at scrape time from `model()` (the
 * dashboard's one tail of the log): nothing is kept twice, and a scrape sees the log as folded
 * at that moment. Labels are job states, node states and `kind` (capacity or used).
 */
export function registerFarmMetrics(registry: Registry, model: () => ReadModel): void {
  let cached: { seq: number; gauges: FarmGauges } | undefined;
  /** The gauges share one fold per log position: they depend on events only, not heartbeats. */
  const current = (): FarmGauges => {
    const m = model();
    if (cached?.seq !== m.seq) cached = { seq: m.seq, gauges: farmGauges(m) };
    return cached.gauges;
  };
  const registers = [registry];
  new Gauge({
    name: 'drover_farm_jobs',
    help: 'Jobs in the log by public state (finished ones: within DROVER_READ_RETENTION)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      for (const [state, n] of Object.entries(current().jobs)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'drover_farm_nodes',
    help: 'Nodes in the log by state',
    labelNames: ['state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [state, n] of Object.entries(current().nodes)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'drover_farm_chunks_live',
    help: 'Chunks with a live attempt (assigned, running or cancelling)',
    registers,
    collect() {
      this.set(current().liveChunks);
    },
  });
  new Gauge({
    name: 'drover_farm_log_sequence',
    help: 'Last stream sequence the dashboard folded',
    registers,
    collect() {
      this.set(current().seq);
    },
  });
  new Gauge({
    name: 'drover_farm_cpus',
    help: 'CPUs of the nodes that are not offline or lost (capacity), and requested by live chunks (used)',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const g = current();
      this.set({ kind: 'capacity' }, g.capacity.cpus);
      this.set({ kind: 'used' }, g.used.cpus);
    },
  });
  new Gauge({
    name: 'drover_farm_memory_bytes',
    help: 'Memory of the nodes that are not offline or lost (capacity), and requested by live chunks (used)',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const g = current();
      this.set({ kind: 'capacity' }, g.capacity.memMb * MB);
      this.set({ kind: 'used' }, g.used.memMb * MB);
    },
  });
  new Gauge({
    name: 'drover_farm_gpus',
    help: 'GPUs of the nodes that are not offline or lost (capacity), and requested by live chunks (used)',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const g = current();
      this.set({ kind: 'capacity' }, g.capacity.gpus);
      this.set({ kind: 'used' }, g.used.gpus);
    },
  });
}
