import { describe, expect, it } from 'vitest';
import { exitMeaning, signalFromExitCode } from '../../../src/events/index.js';
import { classifyExit, outcomeMessage } from '../../../src/node-agent/supervisor/index.js';

describe('exitMeaning', () => {
  it.each([
    [0, null, 'exit code 0: success'],
    [1, null, 'exit code 1: general error'],
    [2, null, 'exit code 2: misuse of shell builtin or bad arguments'],
    [3, null, 'exit code 3: application-defined failure'],
    [126, null, 'exit code 126: command found but not executable'],
    [127, null, 'exit code 127: command not found'],
    [137, null, 'exit code 137: killed by signal 9 (SIGKILL)'],
    [143, null, 'exit code 143: killed by signal 15 (SIGTERM)'],
    [255, null, 'exit code 255: application-defined failure'],
    [null, 'SIGSEGV', 'killed by signal 11 (SIGSEGV)'],
    [null, 'SIGWHAT', 'killed by SIGWHAT'],
    [null, null, 'ended without an exit status (the wrapper was killed by a signal)'],
  ] as const)('(%s, %s)', (code, signal, words) => {
    expect(exitMeaning(code, signal)).toBe(words);
  });

  it('decodes 128+n only for real signal numbers', () => {
    expect(signalFromExitCode(128)).toBeUndefined();
    expect(signalFromExitCode(130)).toBe('SIGINT');
    expect(signalFromExitCode(200)).toBeUndefined();
    expect(signalFromExitCode(null)).toBeUndefined();
  });
});

describe('classifyExit', () => {
  it.each([
    [{ exitCode: 0, signal: null }, 'Succeeded'],
    [{ exitCode: 3, signal: null }, 'ExitNonZero'],
    [{ exitCode: 127, signal: null }, 'ExitNonZero'],
    [{ exitCode: 137, signal: null }, 'Signaled'],
    [{ exitCode: null, signal: 'SIGKILL' }, 'Signaled'],
    [{ exitCode: null, signal: null }, 'Signaled'],
    [{ exitCode: 137, signal: 'SIGKILL', action: 'memory' }, 'OutOfMemory'],
    [{ exitCode: 143, signal: 'SIGTERM', action: 'time' }, 'TimeLimit'],
    [{ exitCode: 0, signal: null, action: 'cancel' }, 'Cancelled'],
    [{ exitCode: 143, signal: 'SIGTERM', action: 'terminate' }, 'Preempted'],
    [{ exitCode: 137, signal: 'SIGKILL', action: 'hung' }, 'TimeLimit'],
    [{ exitCode: 127, signal: null, launchFailed: true }, 'LaunchFailed'],
    [{ exitCode: null, signal: null, launchFailed: true, action: 'cancel' }, 'LaunchFailed'],
  ] as const)('%o -> %s', (facts, cause) => {
    expect(classifyExit(facts)).toBe(cause);
  });
});

describe('outcomeMessage', () => {
  const base = { memLimitMb: 64, peakRssMb: 80.4 };
  it('names the limit and peak for memory', () => {
    expect(outcomeMessage({ ...base, exitCode: 137, signal: 'SIGKILL', action: 'memory' })).toBe(
      'killed: over memory limit 64 MB (peak 80 MB)',
    );
  });
  it('names the time limit', () => {
    expect(
      outcomeMessage({ ...base, exitCode: 143, signal: 'SIGTERM', action: 'time', timeoutS: 30 }),
    ).toBe('killed: time limit reached (30 s); killed by signal 15 (SIGTERM)');
  });
  it('says why a launch failed', () => {
    expect(outcomeMessage({ ...base, exitCode: 127, signal: null, launchFailed: true })).toBe(
      'launch failed: exit code 127: command not found',
    );
  });
});
