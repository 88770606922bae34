import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyExit } from './exit.js';
import { parseStat } from './proc.js';
import { forkServer } from './fork-server.js';
import { procConstants, readAllStats, readStat, type ProcConstants } from './proc-reader.js';
import { supervise } from './supervisor.js';
import type {
  AdoptionRecord,
  LaunchSpec,
  ProcessOutcome,
  Supervised,
  SupervisorHooks,
  SupervisorOptions,
} from './types.js';
import { preflight, wrapperArgs } from './wrapper.js';

/** A launch that never started: `done` is already settled with `LaunchFailed`. */
export function failedLaunch(spec: LaunchSpec, problem: string): Supervised {
  const outcome: ProcessOutcome = {
    exitCode: null,
    signal: null,
    cause: classifyExit({ exitCode: null, signal: null, launchFailed: true }),
    peakRssMb: 0,
    cpuSeconds: 0,
    wallSeconds: 0,
    message: `launch failed: ${problem}`,
  };
  const done = Promise.resolve(outcome);
  return { workerId: spec.workerId, pid: 0, pgid: 0, startTime: '', done, kill: () => done };
}

/** The starttime of a just-spawned pid, read synchronously so it cannot be reaped first. */
function startTimeOf(pid: number): string {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.startTime ?? '';
  } catch {
    return '';
  }
}

/**
 * Start one attempt in its own process group (so the group outlives an agent killed with -9
 * and is signalled as a whole), forked by the agent's fork server (fork-server.ts; Node's
 * `spawn` when perl is missing or `opts.launcher` is `'spawn'`), under the `sh` wrapper that records the exit status in
 * `<runDir>/status`. stdout and stderr go straight to `<runDir>/stdout|stderr` (files, not
 * pipes: readable while it runs and after the agent died). `$DROVER_REPORT` is
 * `<runDir>/report`. The cwd defaults to `runDir`.
 *
 * Never rejects for exec problems: a missing cwd (checked before the spawn), a command not
 * found (127) or not executable (126) (reported by the wrapper's shell on stderr) settle
 * `done` with `LaunchFailed` and the reason.
 */
export async function launch(
  spec: LaunchSpec,
  hooks: SupervisorHooks = {},
  opts: SupervisorOptions = {},
): Promise<Supervised> {
  const startedAt = (opts.clock ?? Date.now)();
  const k = await procConstants();
  const env: Record<string, string> = {
    ...spec.env,
    DROVER_REPORT: join(spec.runDir, 'report'),
    DROVER_STATUS_FILE: join(spec.runDir, 'status'),
  };
  const cwd = spec.cwd ?? spec.runDir;
  // Asynchronous on purpose: creating files can take milliseconds on a busy disk, and the
  // thread pool overlaps that with other launches (measured: sync was slower). A run dir
  // created just now holds no stale status file and is a directory: skip those checks.
  const created = (await mkdir(spec.runDir, { recursive: true })) !== undefined;
  const [problem] = await Promise.all([
    preflight(spec.command, created && cwd === spec.runDir ? undefined : cwd),
    created ? undefined : rm(env.DROVER_STATUS_FILE as string, { force: true }),
  ]);
  if (problem !== undefined) {
    await appendFile(join(spec.runDir, 'stderr'), `drover: ${problem}\n`);
    return failedLaunch(spec, problem);
  }
  const server = forkServer();
  const started =
    (opts.launcher ?? 'fork-server') === 'fork-server' && server.unavailable === undefined
      ? await server
          .start({
            command: spec.command,
            cwd,
            env,
            stdoutPath: join(spec.runDir, 'stdout'),
            stderrPath: join(spec.runDir, 'stderr'),
          })
          .catch((err: Error) => (server.unavailable ? undefined : err))
      : undefined;
  if (started instanceof Error) return failedLaunch(spec, started.message);
  if (started === undefined) return spawnAndSupervise(spec, cwd, env, startedAt, k, hooks, opts);
  const s = supervise({
    ...spec,
    pid: started.pid,
    pgid: started.pid,
    startTime: started.startTime,
    startedAt,
    watch: 'child',
    k,
    hooks,
    opts,
  });
  // Observed: an end that cannot be settled is the supervisor's error, never a crash.
  void started.exited
    .then((e) => (e === undefined ? s.parentLost() : s.leaderExited(e.code, e.signal)))
    .catch((err: unknown) => hooks.onError?.(err as Error));
  return s;
}

/** The launch through Node's own `spawn` (`launcher: 'spawn'`, or no perl on the machine). */
async function spawnAndSupervise(
  spec: LaunchSpec,
  cwd: string,
  env: Record<string, string>,
  startedAt: number,
  k: ProcConstants,
  hooks: SupervisorHooks,
  opts: SupervisorOptions,
): Promise<Supervised> {
  const [out, err] = await Promise.all([
    open(join(spec.runDir, 'stdout'), 'a'),
    open(join(spec.runDir, 'stderr'), 'a'),
  ]);
  try {
    const child = spawn('/bin/sh', wrapperArgs(spec.command), {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
    const pid = child.pid;
    if (pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      return failedLaunch(spec, error.message);
    }
    const s = supervise({
      ...spec,
      pid,
      pgid: pid,
      startTime: startTimeOf(pid),
      startedAt,
      watch: 'child',
      k,
      hooks,
      opts,
    });
    child.once(
      'exit',
      (code, signal) =>
        void s.leaderExited(code, signal).catch((err: unknown) => hooks.onError?.(err as Error)),
    );
    return s;
  } finally {
    await Promise.all([out.close(), err.close()]);
  }
}

/**
 * After an agent restart: take a process back under supervision from the record the agent
 * persisted. `undefined` when it is gone, or when the pid now belongs to another process (its
 * starttime differs). Otherwise sampling, limits, reports and kill carry on, the time limit
 * still counts from `startedAt`, and `done` settles with the exit code the wrapper wrote to
 * `<runDir>/status` (the agent is no longer its parent, so it cannot wait for it).
 */
export async function readopt(
  record: AdoptionRecord,
  hooks: SupervisorHooks = {},
  opts: SupervisorOptions = {},
): Promise<Supervised | undefined> {
  const stat = await readStat(record.pid);
  if (stat === undefined || stat.state === 'Z' || stat.startTime !== record.startTime) {
    return undefined;
  }
  const k = await procConstants();
  return supervise({ ...record, pgid: stat.pgid, watch: 'poll', k, hooks, opts });
}

/**
 * The wrapper (process group leader) of the run in `runDir` while it still runs, found by the
 * status file named in its environment: for an attempt whose agent was killed after starting it
 * but before recording its pid. Unfound, it ran on unwatched, its attempt reported lost and
 * retried elsewhere (a `sleep 120` the chaos run found left behind). Walks /proc: once per such
 * record, at a restart.
 */
export async function findRunLeader(
  runDir: string,
): Promise<{ pid: number; startTime: string } | undefined> {
  const wanted = `\0DROVER_STATUS_FILE=${join(runDir, 'status')}\0`;
  for (const s of await readAllStats(0)) {
    if (s.pid !== s.pgid || s.state === 'Z') continue;
    const env = await readFile(`/proc/${s.pid}/environ`, 'utf8').catch(() => '');
    if (`\0${env}\0`.includes(wanted)) return { pid: s.pid, startTime: s.startTime };
  }
  return undefined;
}
