import { fc } from '@fast-check/vitest';
import { chunkId } from '../../../src/events/index.js';
import {
  JOBS,
  LIVE_WORKER,
  NODES,
  chunkOf,
  chunksIn,
  closeJob,
  createFarm,
  deliver,
  endProcess,
  exec,
  jobOf,
  meta,
  nameOf,
  processLost,
  queueJob,
  registerNode,
  schedule,
  submitLateChild,
  workerOf,
  workersIn,
} from '../../support/farm-model.js';
import type { Farm } from '../../support/farm-model.js';
import { checkEvent, checkInvariants } from './farm-checks.js';

/**
 * Random operations on the farm model: the scheduler's and the agents' normal work interleaved
 * with faults (node lost, agent restarted, worker killed, late and stale results, duplicate
 * commands, cancel and clear at random moments, cascades delivered late and twice).
 */
export type Op = readonly [kind: number, pick: number, flag: boolean];
type Operation = (f: Farm, pick: number, flag: boolean) => void;

const JOB_IDS = Object.keys(JOBS);
const pickOf = <T>(items: readonly T[], pick: number): T | undefined =>
  items[pick % Math.max(1, items.length)];
const nodeOf = (pick: number) => NODES[pick % NODES.length] as string;

const scheduleChunk: Operation = (f, pick) => {
  const cid = pickOf(chunksIn(f, ['pending', 'retry_wait']), pick);
  if (cid) schedule(f, cid, nodeOf(pick >> 4));
};
const startWorker: Operation = (f, pick) => {
  const wid = pickOf(workersIn(f, ['launching']), pick);
  const started = { type: 'ReportStarted', ...meta(f), data: { pid: 100, pgid: 100 } } as const;
  if (!wid || !exec(f, 'worker', wid, started).ok) return;
  const { jobId, chunk, attempt } = workerOf(f, wid).context;
  exec(f, 'chunk', chunkId(jobId, chunk), {
    type: 'StartChunk',
    ...meta(f),
    data: { attempt, pid: 100 },
  });
};
const progress: Operation = (f, pick, flag) => {
  const cid = pickOf(chunksIn(f, ['running']), pick);
  if (!cid) return;
  const { attempt } = chunkOf(f, cid).context;
  const data = { attempt, progress: 0.5, ...(flag && { checkpoint: `cp${pick}` }) };
  exec(f, 'chunk', cid, { type: 'ReportProgress', ...meta(f), data });
};
const finish: Operation = (f, pick, flag) => {
  const wid = pickOf(workersIn(f, ['running']), pick);
  if (wid) endProcess(f, wid, 'exit', flag || pick % 3 ? 0 : 1); // one exit in six fails
};
const killWorker: Operation = (f, pick) => {
  const wid = pickOf(workersIn(f, ['launching', 'running']), pick);
  if (wid) endProcess(f, wid, 'kill');
};
const loseNode: Operation = (f, pick) => {
  const node = nodeOf(pick);
  const lost = { type: 'MarkLost', ...meta(f), data: { reason: 'no heartbeat' } } as const;
  if (!exec(f, 'node', node, lost).ok) return;
  for (const wid of workersIn(f, ['launching', 'running'], node)) processLost(f, wid, 'NodeLost');
};
const restartAgent: Operation = (f, pick, flag) => {
  const node = nodeOf(pick);
  registerNode(f, node, `i${f.seq}`);
  for (const wid of workersIn(f, LIVE_WORKER, node)) reconcile(f, wid, flag);
};
/** A result from a process that is not the chunk's running attempt: never stored. */
const staleResult: Operation = (f, pick) => {
  const wid = pickOf([...f.entities.worker.keys()].sort(), pick);
  if (!wid) return;
  const { jobId, chunk, attempt } = workerOf(f, wid).context;
  const cid = chunkId(jobId, chunk);
  const c = chunkOf(f, cid);
  if (c.context.attempt === attempt && nameOf(c) === 'running') return; // not stale: see finish
  const d = exec(f, 'chunk', cid, {
    type: 'ReportResult',
    ...meta(f),
    data: { attempt, result: 'late' },
  });
  if (d.ok) f.violations.push(`${cid}: accepted a late result of attempt ${attempt}`);
  else if (attempt !== c.context.attempt && d.rejection.code !== 'StaleResult') {
    f.violations.push(`${cid}: stale attempt ${attempt} refused as ${d.rejection.code}`);
  }
};
const duplicate: Operation = (f) => {
  if (f.last) exec(f, f.last.entity, f.last.id, f.last.command as never);
};
const cancel: Operation = (f, pick, flag) => {
  if (flag && pick % 2) return; // rarer than other faults: some runs must finish on their own
  const data = { reason: 'operator' };
  exec(f, 'job', pickOf(JOB_IDS, pick >> 1) as string, { type: 'RequestCancel', ...meta(f), data });
};
const clear: Operation = (f, pick, flag) => {
  const ended = JOB_IDS.filter((id) => jobOf(f, id).hasTag('terminal'));
  if (!flag) return void clearTree(f, pickOf(ended.length ? ended : JOB_IDS, pick) as string);
  const cid = pickOf(chunksIn(f, ['succeeded', 'failed', 'cancelled']), pick);
  if (cid) exec(f, 'chunk', cid, { type: 'ClearResults', ...meta(f) }); // one chunk alone
};
const deliverCascade: Operation = (f, pick, flag) => deliver(f, 1 + (pick % 4), flag);
const queueLateChild: Operation = (f) => queueJob(f, 'C2');
const submitChild: Operation = (f) => submitLateChild(f);

/** Each op with how often it is drawn: normal work more than faults, so jobs can finish too. */
const ops: readonly [Operation, number][] = [
  [scheduleChunk, 5],
  [startWorker, 4],
  [progress, 1],
  [finish, 4],
  [killWorker, 1],
  [loseNode, 1],
  [restartAgent, 1],
  [staleResult, 1],
  [duplicate, 1],
  [cancel, 1],
  [clear, 2],
  [deliverCascade, 4],
  [queueLateChild, 1],
  [submitChild, 1],
];
const kindArb = fc.oneof(
  ...ops.map(([, weight], kind) => ({ arbitrary: fc.constant(kind), weight })),
);
export const opArb: fc.Arbitrary<Op> = fc.tuple(kindArb, fc.nat(), fc.boolean());
export const farmProgramArb = fc.array(opArb, { maxLength: 100, size: 'max' });

/** After an agent restart: readopt a process found alive (killing it if stale), or confirm it gone. */
function reconcile(f: Farm, wid: string, alive: boolean): void {
  const w = workerOf(f, wid);
  if (!alive || nameOf(w) === 'launching') return endProcess(f, wid, 'kill');
  exec(f, 'worker', wid, { type: 'ReadoptWorker', ...meta(f), data: { pid: 100 } });
  const c = chunkOf(f, chunkId(w.context.jobId, w.context.chunk));
  if (c.context.attempt === w.context.attempt && nameOf(c) !== 'retry_wait') return;
  const data = { reason: 'terminate', signal: 'SIGKILL' } as const;
  exec(f, 'worker', wid, { type: 'RequestKill', ...meta(f), data });
}

/** Clear a job's results and, once accepted, its chunks' and its children's. */
export function clearTree(f: Farm, jobId: string): boolean {
  if (!exec(f, 'job', jobId, { type: 'ClearResults', ...meta(f) }).ok) return false;
  const job = jobOf(f, jobId).context;
  Array.from({ length: job.chunks.total }, (_, i) => i).forEach((i) => {
    const cid = chunkId(jobId, i);
    if (!f.entities.chunk.has(cid) || chunkOf(f, cid).context.resultsCleared) return;
    const d = exec(f, 'chunk', cid, { type: 'ClearResults', ...meta(f) });
    if (!d.ok)
      f.violations.push(`${cid}: ${jobId} cleared, its chunk refused: ${d.rejection.message}`);
  });
  for (const child of Object.keys(job.children)) {
    // A child never submitted has nothing to clear (the API's clear plan skips it too).
    if (nameOf(jobOf(f, child)) === 'none') continue;
    if (jobOf(f, child).context.resultsCleared || clearTree(f, child)) continue;
    f.violations.push(`${child}: not clearable under cleared ${jobId}`);
  }
  return true;
}

/** Let every process end (agents come back) and every cascade arrive. */
function quiesce(f: Farm): void {
  for (let round = 0; round < 12; round++) {
    deliver(f, f.outbox.length);
    for (const node of NODES) {
      if (!['ready', 'registering'].includes(nameOf(f.entities.node.get(node)))) {
        registerNode(f, node, `r${f.seq}`);
      }
      for (const wid of workersIn(f, LIVE_WORKER, node)) reconcile(f, wid, false);
    }
    for (const id of JOB_IDS) closeJob(f, id);
    if (!f.outbox.length && !workersIn(f, LIVE_WORKER).length) return;
  }
}

/** Run `program` on a fresh farm, checking every event and the invariants after every op. */
export function runOps(program: readonly Op[]): Farm {
  const f = createFarm(checkEvent);
  for (const [kind, pick, flag] of program) {
    ops[kind % ops.length]?.[0](f, pick, flag);
    checkInvariants(f);
  }
  return f;
}

/**
 * Run `program`, then let everything stop, cancel P if it has not ended, and clear it: once
 * every process is confirmed stopped, the whole tree must be cancellable and clearable.
 */
export function runFarm(program: readonly Op[]): Farm {
  const f = runOps(program);
  quiesce(f);
  exec(f, 'job', 'P', { type: 'RequestCancel', ...meta(f), data: { reason: 'end of test' } });
  quiesce(f);
  checkInvariants(f);
  const p = jobOf(f, 'P');
  if (!p.context.resultsCleared && !clearTree(f, 'P')) {
    f.violations.push(`P (${nameOf(p)}) cannot be cleared after everything stopped`);
  }
  return f;
}
