import { stateName, type ChunkSnapshot, type JobSnapshot } from '../actors/index.js';
import { chunkId, exitMeaning, type JobSpec } from '../events/index.js';
import type { ReadModel } from './read-model.js';
import { publicState } from './views.js';

/** The CONTRACT `explain` shape. */
export interface Explanation {
  id: string;
  state: string;
  pending?: { code: string; message: string; unblock: string; details?: Record<string, unknown> }[];
  failure?: {
    cause: string;
    exitCode?: number;
    signal?: string;
    meaning: string;
    node: string;
    attempt: number;
    chunk?: number;
    message?: string;
    logTail: string[];
  };
  recommendations: string[];
}

/** Where the failed attempt's log lives, for the shell to fetch its tail from the agent. */
export interface LogSource {
  node: string;
  worker: string;
}

/** Memory after an out-of-memory kill: 1.5 × max(request, peak), in 64 MB steps (POLICY.md). */
export function suggestedMemMb(requestMb: number, peakMb: number): number {
  return Math.ceil((Math.max(requestMb, peakMb) * 1.5) / 64) * 64;
}

function failedChunk(model: ReadModel, id: string, job: JobSnapshot): ChunkSnapshot | undefined {
  const index = job.context.outcome?.chunk;
  if (index !== undefined) return model.chunks.get(chunkId(id, index));
  const total = job.context.spec?.chunks ?? 0;
  for (let i = 0; i < Math.min(total, 100_000); i++) {
    const c = model.chunks.get(chunkId(id, i));
    if (c && stateName(c) === 'failed') return c;
  }
  return undefined;
}

const LAUNCH_ADVICE = 'check that the command and --cwd exist on the node';

/**
 * Sharpen the advice once the log tail is known (the shell reads it): a launch that failed
 * because the job's cwd is missing on the node says so and names `--cwd`. Pure; mutates `x`.
 */
export function adviseFromLog(x: Explanation): void {
  const f = x.failure;
  if (f?.cause !== 'LaunchFailed') return;
  const line = f.logTail.find((l) => /working directory .* does not exist/.test(l));
  if (!line) return;
  const dir = /working directory (.*) does not exist/.exec(line)?.[1] ?? '';
  const advice = `the working directory ${dir} does not exist on ${f.node}: submit from a directory that exists there, or with --cwd DIR (the default is the directory submit ran in)`;
  x.recommendations = x.recommendations.map((r) => (r === LAUNCH_ADVICE ? advice : r));
}

function causeAdvice(cause: string, spec: JobSpec, f: Explanation['failure'] & {}, peak: number) {
  const out: string[] = [];
  if (cause === 'OutOfMemory') {
    const mem = suggestedMemMb(spec.memMb, peak);
    out.push(`raise --mem to ${mem}M (peak was ${Math.round(peak)} MB, request ${spec.memMb} MB)`);
  } else if (cause === 'TimeLimit') {
    const t = spec.timeoutS;
    out.push(`raise --timeout${t !== undefined ? ` above ${t}s` : ''} or checkpoint more often`);
  } else if (f.exitCode === 127) {
    const viaShell = spec.command[1] === '-c';
    out.push(
      viaShell
        ? `a command in the script was not found on ${f.node}: check its spelling and PATH`
        : `install "${spec.command[0] ?? ''}" on ${f.node} or fix the command's path`,
    );
  } else if (f.exitCode === 126) {
    out.push(`make "${spec.command[0] ?? ''}" executable (chmod +x)`);
  } else if (cause === 'LaunchFailed') {
    out.push(LAUNCH_ADVICE);
  } else if (cause === 'Signaled') {
    out.push(`killed by a signal Drover did not send: check ${f.node} (drover audit ${f.node})`);
  } else if (cause === 'NodeLost' || cause === 'AgentRestarted') {
    out.push('the farm lost the process: this did not count against your retries');
  } else if (cause === 'EnvironmentChanged') {
    out.push(
      'the cwd no longer holds the pinned environment: restore it (git checkout, lockfile) and ' +
        'resubmit with --same-environment, or resubmit without it',
    );
  }
  const farmFault = ['NodeLost', 'AgentRestarted', 'Preempted', 'EnvironmentChanged'].includes(
    cause,
  );
  if (spec.retries === 0 && !farmFault) out.push('add --retries N if the failure is transient');
  return out;
}

function failureOf(
  model: ReadModel,
  id: string,
  job: JobSnapshot,
): { failure: Explanation['failure'] & {}; advice: string[]; source?: LogSource } {
  const spec = job.context.spec as JobSpec;
  const outcome = job.context.outcome ?? { cause: 'ExitNonZero', message: '' };
  const chunk = failedChunk(model, id, job);
  const last = chunk?.context.attempts.at(-1);
  if (!chunk || !last) {
    const failure = {
      cause: outcome.cause,
      meaning: outcome.message,
      node: '',
      attempt: 0,
      logTail: [],
    };
    const advice =
      outcome.cause === 'DependencyFailed'
        ? ['resubmit once the failed dependency succeeds (drover explain on it says why)']
        : [];
    return { failure, advice };
  }
  const worker = model.workers.get(last.worker)?.snapshot.context;
  const exitCode = last.exitCode ?? worker?.exitCode ?? undefined;
  const signal = last.signal ?? worker?.signal ?? undefined;
  const cause = last.cause ?? worker?.cause ?? outcome.cause;
  const failure = {
    cause,
    ...(exitCode !== undefined && { exitCode }),
    ...(signal !== undefined && { signal }),
    meaning: exitMeaning(exitCode ?? null, signal ?? null),
    node: last.node,
    attempt: last.attempt,
    chunk: chunk.context.index,
    message: outcome.message,
    logTail: [] as string[],
  };
  const advice = causeAdvice(cause, spec, failure, worker?.peakRssMb ?? 0);
  return { failure, advice, source: { node: last.node, worker: last.worker } };
}

/** Whether some chunk of job `id` waits to be placed (pending, or waiting out a retry). */
function chunksWaiting(model: ReadModel, id: string, total: number): boolean {
  for (let i = 0; i < Math.min(total, 100_000); i++) {
    const c = model.chunks.get(chunkId(id, i));
    const s = c ? stateName(c) : 'pending';
    if (s === 'pending' || s === 'retry_wait') return true;
  }
  return false;
}

const PENDING_ADVICE: Readonly<Record<string, string>> = {
  Unsatisfiable: 'lower the request (--cpus/--mem/--gpus) below the largest node, or add a node',
  Constraint: 'relax --label-constraint, or label a node that fits',
  Excluded: 'remove an --exclude-node, or wait for the remaining nodes',
  DependencyFailed: 'this job will never run: resubmit once the dependency succeeds',
  Reservation: 'give the job a --timeout that ends before the window opens, or wait for it to end',
};

/**
 * Why job `id` waits (every reason with what unblocks it) or why it failed (classified cause,
 * exit code meaning, node, attempt), with recommendations. The log tail is left empty: the shell
 * fetches it from the node named by `source`. Undefined when the job is unknown. Pure.
 */
export function explainJob(
  model: ReadModel,
  id: string,
): { explanation: Explanation; source?: LogSource } | undefined {
  const job = model.jobs.get(id);
  const state = job && publicState(job);
  if (!job || !state || !job.context.spec) return undefined;
  const explanation: Explanation = { id, state, recommendations: [] };
  if (state === 'failed') {
    const { failure, advice, source } = failureOf(model, id, job);
    explanation.failure = failure;
    explanation.recommendations.push(...advice);
    return { explanation, ...(source && { source }) };
  }
  if (state === 'queued' || state === 'held' || state === 'running') {
    // A Reservation reason keeps its details (window, nodes, users): what `explain` shows of it.
    const reasons = (job.context.pending?.reasons ?? []).map(
      ({ code, message, unblock, details }) => ({
        code,
        message,
        unblock,
        ...(code === 'Reservation' && details && { details }),
      }),
    );
    if (reasons.length === 0 && state === 'held') {
      const why = job.context.holdReason ?? '';
      reasons.push({ code: 'Held', message: `held: ${why}`, unblock: 'release' });
    }
    // A running job's reasons are the scheduler's last note: they still apply only while some
    // chunk waits (the same rule as the job view's `pending`), else they are stale.
    if (state === 'running' && !chunksWaiting(model, id, job.context.spec.chunks))
      reasons.length = 0;
    if (reasons.length > 0 || state !== 'running') explanation.pending = reasons;
    for (const r of reasons) {
      const advice = PENDING_ADVICE[r.code];
      if (advice && !explanation.recommendations.includes(advice)) {
        explanation.recommendations.push(advice);
      }
    }
  }
  return { explanation };
}
