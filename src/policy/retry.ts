import type { FailureCause } from '../events/index.js';
import type { Backoff, ResourceVector, RetryDecision, RetryInput } from './types.js';

/** Default retry backoff: 10 s doubling per counted retry, at most 10 min. */
export const defaultBackoff: Backoff = Object.freeze({ baseMs: 10_000, maxMs: 600_000 });

/** The OOM bump of POLICY: memory = max(request, peak) × 1.5, capped by the largest node. */
export const OOM_FACTOR = 1.5;

/**
 * Causes whose node is avoided by later attempts of the same job (softly: used only if no other
 * node fits): every ended attempt that failed, whatever the cause (POLICY: "the scheduler avoids
 * nodes where an attempt of the same job failed, unless no other node fits"). A job's own fault
 * (`ExitNonZero`, `OutOfMemory`, `TimeLimit`) may still be the node's (a missing library, a full
 * scratch disk, a slow node), and a retry elsewhere tells which. Only `Succeeded` and `Cancelled`
 * say nothing against the node.
 */
export const NODE_AVOIDING_CAUSES: ReadonlySet<FailureCause> = new Set<FailureCause>([
  'ExitNonZero',
  'Signaled',
  'OutOfMemory',
  'TimeLimit',
  'NodeLost',
  'AgentRestarted',
  'LaunchFailed',
  'Preempted',
]);

/** What an exit code usually means (POLICY failure table). Pure. */
export function explainExitCode(code: number): string {
  if (code === 1) return 'general error';
  if (code === 2) return 'misuse of a shell builtin or bad arguments';
  if (code === 126) return 'command not executable';
  if (code === 127) return 'command not found';
  if (code > 128 && code < 256) return `killed by signal ${code - 128}`;
  return 'application-specific failure';
}

/** Delay before the n-th counted retry (n ≥ 1): `base · 2^(n-1)`, at most `max`. Pure. */
export function backoffDelay(n: number, b: Backoff): number {
  const exp = Math.min(Math.max(n - 1, 0), 52);
  return Math.max(0, Math.min(b.maxMs, b.baseMs * 2 ** exp));
}

function avoidList(input: RetryInput): string[] {
  const all = [...input.previousFailures, { cause: input.cause, node: input.node }];
  const nodes = all.filter((f) => NODE_AVOIDING_CAUSES.has(f.cause)).map((f) => f.node);
  return [...new Set(nodes)].sort();
}

function counted(input: RetryInput, request: ResourceVector, what: string): RetryDecision {
  const { retriesUsed, retriesAllowed, now } = input;
  if (retriesUsed >= retriesAllowed) {
    return { retry: false, reason: `${what}; all ${retriesAllowed} retries are used` };
  }
  const delay = backoffDelay(retriesUsed + 1, input.backoff ?? defaultBackoff);
  return {
    retry: true,
    request,
    notBefore: now + delay,
    avoidNodes: avoidList(input),
    countsAgainstRetries: true,
    reason: `${what}; retry ${retriesUsed + 1} of ${retriesAllowed} after ${delay} ms`,
  };
}

function outOfMemory(input: RetryInput): RetryDecision {
  const { request, peakRssMb, largestNode } = input;
  const wanted = Math.ceil(Math.max(request.memMb, peakRssMb) * OOM_FACTOR);
  const memMb = Math.min(wanted, largestNode.memMb);
  const what = `out of memory at ${request.memMb} MB (peak ${peakRssMb} MB)`;
  if (memMb > request.memMb) {
    return {
      retry: true,
      request: { ...request, memMb },
      notBefore: input.now,
      avoidNodes: avoidList(input),
      countsAgainstRetries: true,
      reason: `${what}; retry with ${memMb} MB${memMb < wanted ? ' (the largest node)' : ''}`,
    };
  }
  return counted(input, request, `${what}; the largest node has no more memory to give`);
}

/**
 * What to do after an attempt ended (POLICY failure table). Pure and deterministic (no jitter).
 *
 * - `Succeeded` and `Cancelled` never retry; nor does `EnvironmentChanged` (the agent refused a
 *   `resubmit --same-environment` copy whose recorded environment no longer matches: a retry
 *   would meet the same cwd, and no retry is used).
 * - `NodeLost`, `AgentRestarted`, `Preempted` are the farm's fault: they always retry, at once,
 *   with the same request, never count against the job's retries, and avoid that node.
 * - `OutOfMemory` counts; the retry asks for max(request, peak) × 1.5 MB capped by the largest
 *   node, and happens even with no retries left whenever that cap still allows more memory
 *   (bounded: memory grows geometrically to the cap). At the cap it retries as retries allow.
 * - `ExitNonZero`, `Signaled`, `TimeLimit`, `LaunchFailed` count and retry while
 *   `retriesUsed < retriesAllowed`, after `backoff` (exponential, default `defaultBackoff`).
 *
 * `avoidNodes` accumulates the nodes of this and earlier failed attempts, whatever their cause
 * (`NODE_AVOIDING_CAUSES`); placement uses them only if no other node fits.
 */
export function retryDecision(input: RetryInput): RetryDecision {
  const { cause, node, attempt } = input;
  switch (cause) {
    case 'Succeeded':
      return { retry: false, reason: `attempt ${attempt} succeeded` };
    case 'Cancelled':
      return {
        retry: false,
        reason: `attempt ${attempt} was cancelled: cancelled work never retries`,
      };
    case 'EnvironmentChanged':
      // The pinned environment is gone from the cwd: another attempt would find it gone too, and
      // it is no fault of the command's, so the job fails at once without using a retry.
      return {
        retry: false,
        reason: `attempt ${attempt} refused on ${node}: the pinned environment no longer matches`,
      };
    case 'NodeLost':
    case 'AgentRestarted':
    case 'Preempted':
      return {
        retry: true,
        request: { ...input.request },
        notBefore: input.now,
        avoidNodes: avoidList(input),
        countsAgainstRetries: false,
        reason: `${cause} on ${node}: the farm's fault, retried elsewhere from the last checkpoint without using a retry`,
      };
    case 'OutOfMemory':
      return outOfMemory(input);
    case 'ExitNonZero': {
      const code = input.exitCode;
      const why = code === undefined ? '' : ` ${code} (${explainExitCode(code)})`;
      return counted(
        input,
        { ...input.request },
        `exited with code${why || ' non-zero'} on ${node}`,
      );
    }
    case 'Signaled':
    case 'TimeLimit':
    case 'LaunchFailed':
      return counted(input, { ...input.request }, `${cause} on ${node}`);
    default: {
      const _exhaustive: never = cause;
      return _exhaustive;
    }
  }
}
