import { stat } from 'node:fs/promises';

/**
 * The `/bin/sh` wrapper every attempt runs under. It runs the command as its child, then
 * writes the exit status to `$DROVER_STATUS_FILE`, so an agent that restarted (and so is no
 * longer the parent that could wait for it) still learns the real exit code. A child killed by
 * signal n shows as status 128+n. The no-op traps keep the shell waiting when the group is
 * signalled (the command, which gets default dispositions back, decides), so the status it
 * writes is always the command's own. `$0` is `drover-wrap`, so the shell's own exec errors read
 * `drover-wrap: 1: <cmd>: not found` on stderr.
 */
export const WRAPPER_SCRIPT =
  'trap : TERM INT HUP; "$@"; s=$?; echo $s > "$DROVER_STATUS_FILE"; exit $s';
export const WRAPPER_NAME = 'drover-wrap';

/** argv of the wrapper around `command`. */
export function wrapperArgs(command: readonly string[]): string[] {
  return ['-c', WRAPPER_SCRIPT, WRAPPER_NAME, ...command];
}

/**
 * Check, before spawning, what the wrapper could not report itself: a missing working
 * directory (the spawn would fail before the shell runs). A command not found (127) or not
 * executable (126) is reported by the wrapper's shell and recognised by `isWrapperExecError`,
 * which keeps launches to a single stat here. Returns the problem, or `undefined`.
 */
export async function preflight(
  command: readonly string[],
  cwd: string | undefined,
): Promise<string | undefined> {
  if (command.length === 0 || command[0] === '') return 'empty command';
  if (cwd === undefined) return undefined; // known to exist: the run dir just created
  const dir = await stat(cwd).catch(() => undefined);
  if (dir === undefined || !dir.isDirectory()) return `working directory ${cwd} does not exist`;
  return undefined;
}

/**
 * Pure: whether stderr shows the wrapper's own exec error (`drover-wrap: 1: x: not found`,
 * `... Permission denied`, a bad interpreter): with exit 126/127 it means the command never ran.
 */
export function isWrapperExecError(exitCode: number | null, stderrTail: string): boolean {
  return (exitCode === 126 || exitCode === 127) && stderrTail.includes(`${WRAPPER_NAME}: `);
}

/** Pure: the wrapper's exec error line from stderr, for the outcome message. */
export function wrapperExecErrorLine(stderrTail: string): string | undefined {
  return stderrTail
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${WRAPPER_NAME}: `));
}
