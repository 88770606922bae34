import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { reapOnExit } from './child-reaper.js';
import { droverArgv } from './cli-main.js';

const ROOT = join(import.meta.dirname, '../..');

/** A drover service (`agent`, `scheduler`, ...) as a real child process, for kill -9 tests. */
export interface DroverProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  kill9(): Promise<void>;
  /**
   * SIGTERM, then SIGKILL if it has not exited after `killAfterMs` (a hang guard). `Infinity`
   * waits for its own exit: for a test that needs what a clean stop does (a snapshot saved), a
   * stop slowed by load must not be cut short.
   */
  stop(killAfterMs?: number): Promise<void>;
}

/**
 * `main`: another compiled CLI to run instead of this worktree's `dist/cli/main.js` (a bench
 * comparing an older build with the same harness).
 */
export function spawnDrover(
  args: readonly string[],
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
  main?: string,
): DroverProcess {
  const argv = main === undefined ? droverArgv(args) : [main, ...args];
  const child = reapOnExit(
    spawn(process.execPath, [...nodeArgs, ...argv], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  return {
    child,
    output: () => out,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(killAfterMs = 15_000) {
      // SIGCONT first: a process paused with SIGSTOP would not see the SIGTERM for 15 s.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      }
      const timer = Number.isFinite(killAfterMs)
        ? setTimeout(() => child.kill('SIGKILL'), killAfterMs)
        : undefined;
      await exited;
      clearTimeout(timer);
    },
  };
}
