import { chunkSettlements, stateName } from '../actors/index.js';
import { chunkId } from '../events/index.js';
import { LIVE_WORKER_STATES, descendants, type ReadModel } from './read-model.js';
import { TERMINAL_STATES, publicState } from './views.js';

/** A process a cancel must stop, or a clear must see confirmed dead. */
export interface ProcessRef {
  worker: string;
  node: string;
  state: string;
  pid?: number;
}

/**
 * Everything a cancel touches (CONTRACT: "lists the whole cascade"): the job and its
 * descendants that are not terminal, their chunks that are not terminal, and every process that
 * may still run, with its node.
 */
export interface CancelPlan {
  id: string;
  state: string;
  jobs: { id: string; state: string }[];
  chunks: { id: string; state: string; node?: string }[];
  processes: ProcessRef[];
}

/** Why a clear is refused: one entry per descendant or process that is not done. */
export interface ClearBlocker {
  id: string;
  kind: 'job' | 'chunk' | 'process';
  state: string;
  why: string;
}

/** What a clear touches: the job tree's chunks with results, and what blocks it (if anything). */
export interface ClearPlan {
  id: string;
  state: string;
  jobs: string[];
  chunks: string[];
  blockers: ClearBlocker[];
}

const CHUNK_SCAN_LIMIT = 100_000;

function chunkIds(model: ReadModel, jobId: string): string[] {
  const total = model.jobs.get(jobId)?.context.spec?.chunks ?? 0;
  return Array.from({ length: Math.min(total, CHUNK_SCAN_LIMIT) }, (_, i) => chunkId(jobId, i));
}

/** Processes of `jobId` that may still run (launching, running, or lost and unconfirmed). Pure. */
function liveProcesses(model: ReadModel, jobId: string): ProcessRef[] {
  const out: ProcessRef[] = [];
  for (const chunk of chunkIds(model, jobId)) {
    for (const a of model.chunks.get(chunk)?.context.attempts ?? []) {
      const w = model.workers.get(a.worker);
      const state = w ? stateName(w.snapshot) : 'launching';
      const unconfirmed = model.chunks.get(chunk)?.context.unconfirmed.includes(a.attempt);
      if (!LIVE_WORKER_STATES.has(state) && !unconfirmed) continue;
      const pid = w?.snapshot.context.pid;
      out.push({ worker: a.worker, node: a.node, state, ...(pid !== undefined && { pid }) });
    }
  }
  return out;
}

/** The cancel cascade of job `id`, from the read model; undefined when the job is unknown. Pure. */
export function cancelPlan(model: ReadModel, id: string): CancelPlan | undefined {
  const root = model.jobs.get(id);
  const rootState = root && publicState(root);
  if (!rootState) return undefined;
  const plan: CancelPlan = { id, state: rootState, jobs: [], chunks: [], processes: [] };
  for (const jobId of descendants(model, id)) {
    const job = model.jobs.get(jobId);
    const state = job && publicState(job);
    if (!state || TERMINAL_STATES.has(state)) continue;
    plan.jobs.push({ id: jobId, state });
    for (const chunk of chunkIds(model, jobId)) {
      const c = model.chunks.get(chunk);
      const cs = c ? stateName(c) : 'pending';
      if (TERMINAL_STATES.has(cs)) continue;
      const node = c?.context.node;
      plan.chunks.push({ id: chunk, state: cs, ...(node !== undefined && { node }) });
    }
    plan.processes.push(...liveProcesses(model, jobId));
  }
  return plan;
}

/** The clear plan of job `id`: what it would clear and what blocks it now. Pure. */
export function clearPlan(model: ReadModel, id: string): ClearPlan | undefined {
  const root = model.jobs.get(id);
  const rootState = root && publicState(root);
  if (!root || !rootState) return undefined;
  const plan: ClearPlan = { id, state: rootState, jobs: [], chunks: [], blockers: [] };
  if (root.context.resultsCleared) {
    plan.blockers.push({ id, kind: 'job', state: rootState, why: 'results are already cleared' });
  }
  for (const jobId of descendants(model, id)) {
    const job = model.jobs.get(jobId);
    const state = job && publicState(job);
    if (!job || !state) continue;
    plan.jobs.push(jobId);
    if (!TERMINAL_STATES.has(state)) {
      plan.blockers.push({ id: jobId, kind: 'job', state, why: `job ${jobId} is ${state}` });
    } else if (!chunkSettlements.everyQuiescent(job.context.chunks)) {
      const why = `job ${jobId} has chunks whose process is not confirmed stopped`;
      plan.blockers.push({ id: jobId, kind: 'job', state, why });
    }
    for (const chunk of chunkIds(model, jobId)) {
      const c = model.chunks.get(chunk);
      if (c && (c.context.result !== undefined || c.context.checkpoint !== undefined)) {
        plan.chunks.push(chunk);
      }
    }
    for (const p of liveProcesses(model, jobId)) {
      const why = `process ${p.worker} on ${p.node} is ${p.state}, not confirmed stopped`;
      plan.blockers.push({ id: p.worker, kind: 'process', state: p.state, why });
    }
  }
  return plan;
}

/**
 * The clear plan of a compacted job (`drover compact` moved its tree to the archive): what it
 * holds, plus a blocker saying why nothing can be cleared. The archive is closed history: an
 * event appended to a moved entity could not chain to its archived predecessor (the log refuses
 * it, and `drover verify` would report a break). Pure.
 */
export function closedClearPlan(
  plan: ClearPlan | undefined,
  id: string,
  why: string,
): ClearPlan | undefined {
  if (!plan) return undefined;
  return { ...plan, blockers: [...plan.blockers, { id, kind: 'job', state: plan.state, why }] };
}
