import type { ChunkSnapshot, WorkerSnapshot } from '../../../src/actors/index.js';
import { chunkId } from '../../../src/events/index.js';
import {
  LIVE_WORKER,
  chunkOf,
  jobOf,
  liveDescendants,
  nameOf,
  workerOf,
  workersIn,
} from '../../support/farm-model.js';
import type { Appended, Farm } from '../../support/farm-model.js';

/**
 * The safety properties of the farm, checked against the model's ground truth (the workers'
 * processes), not against what the jobs believe. Violations are collected on the farm.
 */

/** Checked on every appended event, with the snapshots around it. */
export function checkEvent(f: Farm, { entity, id, event, before }: Appended): void {
  if (entity === 'chunk' && event.type === 'chunk.succeeded') {
    const b = before as ChunkSnapshot;
    const fenced = event.data.attempt === b.context.attempt && nameOf(b) === 'running';
    if (!fenced) f.violations.push(`${id}: stored a result of attempt ${event.data.attempt}`);
  }
  if (entity === 'chunk' && event.type === 'chunk.results_cleared') {
    const live = workersIn(f, LIVE_WORKER).filter((w) => w.startsWith(`${id}:`));
    if (live.length) f.violations.push(`${id}: results cleared while ${live.join(', ')} may run`);
  }
  if (
    entity === 'worker' &&
    event.type === 'worker.kill_requested' &&
    event.data.reason === 'cancel'
  ) {
    // Asked ahead of the chunk's cancel now (the cascade): still only for a job being cancelled.
    const { jobId } = (before as WorkerSnapshot).context;
    const job = nameOf(jobOf(f, jobId));
    if (job !== 'cancelling')
      f.violations.push(`${id}: a cancel's kill asked while ${jobId} ${job}`);
  }
  if (
    entity === 'job' &&
    (event.type === 'job.cancelled' || event.type === 'job.results_cleared')
  ) {
    const live = liveDescendants(f, id);
    if (live.length) f.violations.push(`${id}: ${event.type} while live: ${live.join(', ')}`);
  }
}

/**
 * Checked after every operation: a chunk has at most one open attempt and it is the current
 * one; every process that runs or may run is known to its chunk (its live attempt, or an
 * unconfirmed one); a cleared chunk keeps no result.
 */
export function checkInvariants(f: Farm): void {
  for (const [cid, c] of f.entities.chunk as Map<string, ChunkSnapshot>) {
    const open = c.context.attempts.filter((a) => a.cause === undefined);
    const live = ['assigned', 'running', 'cancelling'].includes(nameOf(c));
    if (open.length > (live ? 1 : 0) || (open[0] && open[0].attempt !== c.context.attempt)) {
      f.violations.push(`${cid}: open attempts ${open.map((a) => a.attempt)} in ${nameOf(c)}`);
    }
    if (c.context.resultsCleared && c.context.result !== undefined) {
      f.violations.push(`${cid}: a result after clear`);
    }
  }
  for (const wid of workersIn(f, LIVE_WORKER)) {
    const w = workerOf(f, wid).context;
    const c = chunkOf(f, chunkId(w.jobId, w.chunk));
    const current =
      c.context.attempt === w.attempt && ['assigned', 'running', 'cancelling'].includes(nameOf(c));
    if (!current && !c.context.unconfirmed.includes(w.attempt)) {
      f.violations.push(`${wid} ${nameOf(workerOf(f, wid))}: its chunk (${nameOf(c)}) ignores it`);
    }
  }
}
