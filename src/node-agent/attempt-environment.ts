import type { Environment, LaunchWork } from '../events/index.js';
import { environmentChanges } from '../policy/index.js';
import { captureEnvironment, type EnvironmentCache } from './environment/index.js';
import type { ProcessOutcome } from './supervisor/index.js';

/**
 * Variables Drover sets per attempt (CONTRACT "What a process sees", and the supervisor's
 * report files): they differ between any two attempts, so they stay out of the env hash, which
 * is there to tell whether the environment the job asked for and the agent passes on changed.
 */
export const PER_ATTEMPT_VARS: ReadonlySet<string> = new Set([
  'DROVER_JOB',
  'DROVER_CHUNK',
  'DROVER_CHUNKS',
  'DROVER_ATTEMPT',
  'DROVER_NODE',
  'DROVER_WORKER',
  'DROVER_CHECKPOINT',
  'DROVER_REPORT',
  'DROVER_STATUS_FILE',
]);

/** The variables of an attempt's process that the env hash covers: the agent's, then the job's. */
export function hashedVars(
  agentEnv: Readonly<Record<string, string | undefined>>,
  jobEnv: Readonly<Record<string, string>>,
): Record<string, string | undefined> {
  const all: Record<string, string | undefined> = { ...agentEnv, ...jobEnv };
  for (const name of PER_ATTEMPT_VARS) delete all[name];
  return all;
}

/**
 * What the attempt of `w` runs in, read just before its process starts: through `cache` when
 * given (an unchanged repository starts no git process), always fresh for a pinned launch
 * (`resubmit --same-environment`), whose whole point is to look again.
 */
export function attemptEnvironment(
  w: LaunchWork,
  cwd: string,
  agentVersion: string,
  cache?: EnvironmentCache,
): Promise<Environment> {
  const o = { cwd, env: hashedVars(process.env, w.env), agentVersion };
  return cache && !w.pinnedEnvironment ? cache.capture(o) : captureEnvironment(o);
}

/**
 * The outcome of an attempt the agent refused to start because its pinned environment no longer
 * matches (`resubmit --same-environment`): cause `EnvironmentChanged`, which uses no retry,
 * and a message saying what changed. `undefined` when there is no pin or it still holds.
 */
export function refusedForEnvironment(
  w: LaunchWork,
  found: Environment,
): ProcessOutcome | undefined {
  if (!w.pinnedEnvironment) return undefined;
  const changes = environmentChanges(w.pinnedEnvironment, found);
  if (changes.length === 0) return undefined;
  return {
    exitCode: null,
    signal: null,
    cause: 'EnvironmentChanged',
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
    message:
      `not started: the environment of ${w.pinnedEnvironment.from} is gone from ${found.cwd}: ` +
      changes.join('; '),
  };
}
