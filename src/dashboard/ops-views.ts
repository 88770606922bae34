import {
  alertList,
  nodeList,
  promiseRow,
  publicState,
  type AlertView,
  type PromiseRow,
  type ReadModel,
} from '../api/index.js';
import type { NodeReading } from '../events/index.js';

/** Resolved alerts stay on the panel this long after they resolved. */
export const RECENT_RESOLVED_MS = 24 * 3_600_000;
/** At most this many alerts on the panel (firing first): the overview is pushed whole. */
export const ALERTS_SHOWN = 50;
/** Readings kept per node for its chart: 30 minutes at the agent's default 5 s sampling. */
export const READINGS_KEPT = 360;

/**
 * The alerts panel: every firing alert and those resolved within `RECENT_RESOLVED_MS` of `now`,
 * firing first then newest first (the order of `drover alerts --all`), at most `ALERTS_SHOWN`.
 * Pure.
 */
export function alertsPanel(model: ReadModel, now: number): AlertView[] {
  return alertList(model, { all: true })
    .filter(
      (a) =>
        a.state === 'firing' ||
        (a.resolvedAt !== undefined && now - Date.parse(a.resolvedAt) <= RECENT_RESOLVED_MS),
    )
    .slice(0, ALERTS_SHOWN);
}

/**
 * Add a node's reading to its recent history (a heartbeat repeats the last reading until the
 * next sample: a reading already kept, by its `at`, is not added twice); the oldest go past
 * `READINGS_KEPT`. Mutates `history`.
 */
export function noteReading(
  history: Map<string, NodeReading[]>,
  node: string,
  reading: NodeReading,
): void {
  let list = history.get(node);
  if (!list) history.set(node, (list = []));
  const last = list[list.length - 1];
  if (last && last.at >= reading.at) return;
  list.push(reading);
  if (list.length > READINGS_KEPT) list.splice(0, list.length - READINGS_KEPT);
}

/** A node's memory and swap as the dashboard shows it: the last reading and the recent ones. */
export interface NodeMemoryRow {
  node: string;
  state: string;
  /** The last reading as the agent's heartbeat carried it (absent before its first sample). */
  reading?: NodeReading;
  /** Bytes in use: total minus available, when the agent reads `/proc/meminfo`. */
  memUsedBytes?: number;
  history: NodeReading[];
}

/** Every node with its last reading and recent history, by node id. Pure. */
export function nodeMemoryRows(
  model: ReadModel,
  history: ReadonlyMap<string, readonly NodeReading[]>,
): NodeMemoryRow[] {
  return nodeList(model)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((n) => {
      const reading = model.heartbeats.get(n.id)?.reading;
      const used =
        reading?.memTotalBytes !== undefined && reading.memAvailableBytes !== undefined
          ? reading.memTotalBytes - reading.memAvailableBytes
          : undefined;
      return {
        node: n.id,
        state: n.state,
        ...(reading && { reading }),
        ...(used !== undefined && { memUsedBytes: used }),
        history: [...(history.get(n.id) ?? [])],
      };
    });
}

/** A promise as the dashboard lists it: `drover promises`' row and whose job it is. */
export interface PromisePanelRow extends PromiseRow {
  user?: string;
  name?: string;
  jobState?: string;
}

/** Every start-by promise by acceptance (oldest first, as `drover promises`), with its job. Pure. */
export function promisesPanel(model: ReadModel): PromisePanelRow[] {
  const rows: PromisePanelRow[] = [];
  for (const [jobId, p] of model.promises) {
    const row = promiseRow(jobId, p);
    if (!row) continue;
    const job = model.jobs.get(jobId);
    const spec = job?.context.spec;
    const jobState = job && publicState(job);
    rows.push({
      ...row,
      ...(spec && { user: spec.user, name: spec.name }),
      ...(jobState && { jobState }),
    });
  }
  return rows.sort((a, b) => a.proof.acceptedSeq - b.proof.acceptedSeq);
}
