import type { ChildProcess } from 'node:child_process';

/** Children still running that this process started (removed as each one exits). */
const running = new Set<ChildProcess>();
let hooked = false;

/**
 * Kill `child` with SIGKILL when this process exits, should it still be running then: the last
 * net under a test that ended without stopping what it started (a thrown set-up, a run given
 * up). Only `exit` can be hooked synchronously, and a child's own stop is still the normal path.
 */
export function reapOnExit<C extends ChildProcess>(child: C): C {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** How many children started through `reapOnExit` are still running (tests of the cleanup). */
export function childrenRunning(): number {
  return [...running].filter((c) => c.exitCode === null && c.signalCode === null).length;
}
