import { stateName, type ChunkSnapshot, type JobSnapshot } from '../actors/index.js';
import { chunkId, exitMeaning, type JobSpec, type MemSizingRecord } from '../events/index.js';
import { decideMemAuto } from '../policy/index.js';
import { peakRunsOf, type UsageState } from '../projections/index.js';
import { memFlag, shellWords } from './mem-auto.js';
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
    /** The job's outcome: the retry policy's last verdict. */
    message?: string;
    /** The agent's words on how the failed attempt ended (e.g. what changed in its environment). */
    attemptMessage?: string;
    logTail: string[];
  };
  recommendations: string[];
  /** How the job's memory was decided, when by `--mem auto` (the provenance `show` has too). */
  memSizing?: MemSizingRecord;
  /** After an out-of-memory failure: the figure to ask for, the command, and why. */
  memory?: { memMb: number; command: string; auto: string };
}

/** The usage history and the time, for the memory advice after an out-of-memory failure. */
export interface MemAdviceInput {
  readonly usage: UsageState;
  readonly now: number;
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

/**
 * The memory to ask for after an out-of-memory failure: what `--mem auto` decides now from the
 * name's runs (this one's peak among them), or, when that is not above the failed request (or
 * there is no history), 1.5 × max(request, peak). With the exact command to resubmit. Pure.
 */
export function oomAdvice(
  spec: JobSpec,
  peak: number,
  mem: MemAdviceInput | undefined,
): { memMb: number; command: string; auto: string; text: string } {
  const fallback = suggestedMemMb(spec.memMb, peak);
  const d = mem
    ? decideMemAuto({
        name: spec.name,
        now: mem.now,
        history: peakRunsOf(mem.usage, spec.name),
        fallback: { memMb: fallback, from: 'submit default' },
      })
    : undefined;
  const memMb = d?.source === 'history' && d.memMb > spec.memMb ? d.memMb : fallback;
  const command = `drover submit --name ${shellWords([spec.name])} --mem ${memFlag(memMb)} -- ${shellWords(spec.command)}`;
  const auto = d?.source === 'history' ? `--mem auto decides ${d.memMb} MB now: ${d.message}` : '';
  const text =
    `raise --mem to ${memFlag(memMb)} (peak was ${Math.round(peak)} MB, request ${spec.memMb} MB): ${command}` +
    (auto ? `; or submit with --mem auto (${auto})` : '');
  return { memMb, command, auto, text };
}

function causeAdvice(
  cause: string,
  spec: JobSpec,
  f: Explanation['failure'] & {},
  peak: number,
  mem: MemAdviceInput | undefined,
) {
  const out: string[] = [];
  if (cause === 'OutOfMemory') {
    out.push(oomAdvice(spec, peak, mem).text);
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
  mem: MemAdviceInput | undefined,
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
    ...(worker?.message !== undefined && { attemptMessage: worker.message }),
    logTail: [] as string[],
  };
  const advice = causeAdvice(cause, spec, failure, worker?.peakRssMb ?? 0, mem);
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
 * exit code meaning, node, attempt), with recommendations; after an out-of-memory failure the
 * figure to ask for and the command (from `mem`'s usage history when given). The log tail is left empty: the shell
 * fetches it from the node named by `source`. Undefined when the job is unknown. Pure.
 */
export function explainJob(
  model: ReadModel,
  id: string,
  mem?: MemAdviceInput,
): { explanation: Explanation; source?: LogSource } | undefined {
  const job = model.jobs.get(id);
  const state = job && publicState(job);
  if (!job || !state || !job.context.spec) return undefined;
  const spec = job.context.spec;
  const explanation: Explanation = {
    id,
    state,
    recommendations: [],
    ...(spec.memSizing && { memSizing: spec.memSizing }),
  };
  if (state === 'failed') {
    const { failure, advice, source } = failureOf(model, id, job, mem);
    explanation.failure = failure;
    explanation.recommendations.push(...advice);
    if (failure.cause === 'OutOfMemory') {
      const peak = model.workers.get(source?.worker ?? '')?.snapshot.context.peakRssMb ?? 0;
      const { memMb, command, auto } = oomAdvice(spec, peak, mem);
      explanation.memory = { memMb, command, auto };
    }
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
