import { constants } from 'node:os';

/*
 * What exit codes and signals mean, beside the failure causes they feed (common.schemas.ts):
 * the node agent classifies with them and `drover explain` words them, so they belong to the
 * vocabulary both read, not to either one. Pure: `node:os` is read for its static signal table.
 */

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);
/** Highest real-time signal on Linux: 128+n above it is an ordinary exit code. */
const MAX_SIGNAL = 64;

const CODE_MEANINGS: Record<number, string> = {
  1: 'general error',
  2: 'misuse of shell builtin or bad arguments',
  126: 'command found but not executable',
  127: 'command not found',
  128: 'invalid argument to exit',
};

/** Pure: the signal's name (`SIGKILL`) or `signal n` when the platform has none for it. */
export function signalName(n: number): string {
  return SIGNAL_NAMES.get(n) ?? `signal ${n}`;
}

/**
 * Pure: the signal a shell exit status stands for. Through the `sh` wrapper a child killed by
 * signal n shows as exit status 128+n; `undefined` when the code is an ordinary exit code.
 */
export function signalFromExitCode(exitCode: number | null): string | undefined {
  if (exitCode === null || exitCode <= 128 || exitCode > 128 + MAX_SIGNAL) return undefined;
  return signalName(exitCode - 128);
}

/**
 * Pure: what an exit code or signal means, in words for `drover explain` (POLICY.md: 1
 * general, 2 misuse, 126 not executable, 127 not found, 128+s killed by signal s).
 * @example exitMeaning(137, null) // 'exit code 137: killed by signal 9 (SIGKILL)'
 */
export function exitMeaning(exitCode: number | null, signal: string | null): string {
  if (signal !== null) {
    const n = constants.signals[signal as keyof typeof constants.signals];
    return n === undefined ? `killed by ${signal}` : `killed by signal ${n} (${signal})`;
  }
  if (exitCode === null) return 'ended without an exit status (the wrapper was killed by a signal)';
  if (exitCode === 0) return 'exit code 0: success';
  const viaSignal = signalFromExitCode(exitCode);
  if (viaSignal !== undefined) {
    return `exit code ${exitCode}: killed by signal ${exitCode - 128} (${viaSignal})`;
  }
  return `exit code ${exitCode}: ${CODE_MEANINGS[exitCode] ?? 'application-defined failure'}`;
}
