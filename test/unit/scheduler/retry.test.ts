import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  explainExitCode,
  retryDecision,
  type RetryInput,
} from '../../../src/policy/index.js';
import { vec } from '../../support/policy-arbitraries.js';

const NOW = 1_000_000;
const input = (p: Partial<RetryInput> = {}): RetryInput => ({
  cause: 'ExitNonZero',
  node: 'n1',
  attempt: 1,
  now: NOW,
  retriesAllowed: 2,
  retriesUsed: 0,
  request: vec(2, 4096),
  peakRssMb: 1000,
  largestNode: vec(64, 262_144),
  previousFailures: [],
  backoff: { baseMs: 1000, maxMs: 5000 },
  ...p,
});

describe('retryDecision: the POLICY failure table', () => {
  it.each(['Succeeded', 'Cancelled'] as const)('%s never retries', (cause) => {
    const d = retryDecision(input({ cause, retriesAllowed: 100 }));
    expect(d.retry).toBe(false);
  });

  it.each(['NodeLost', 'AgentRestarted', 'Preempted'] as const)(
    "%s is the farm's fault: retries at once, elsewhere, without counting",
    (cause) => {
      const d = retryDecision(input({ cause, retriesAllowed: 0, retriesUsed: 0 }));
      expect(d).toMatchObject({
        retry: true,
        request: vec(2, 4096),
        notBefore: NOW,
        avoidNodes: ['n1'],
        countsAgainstRetries: false,
      });
    },
  );

  it.each(['ExitNonZero', 'Signaled', 'TimeLimit', 'LaunchFailed'] as const)(
    '%s counts and retries as the job allows, with exponential backoff',
    (cause) => {
      const first = retryDecision(input({ cause, retriesUsed: 0 }));
      expect(first).toMatchObject({
        retry: true,
        notBefore: NOW + 1000,
        countsAgainstRetries: true,
      });
      const second = retryDecision(input({ cause, retriesUsed: 1 }));
      expect(second).toMatchObject({ retry: true, notBefore: NOW + 2000 });
      const spent = retryDecision(input({ cause, retriesUsed: 2 }));
      expect(spent).toMatchObject({ retry: false });
      expect(spent.reason).toContain('all 2 retries are used');
    },
  );

  it.each(['ExitNonZero', 'Signaled', 'OutOfMemory', 'TimeLimit', 'LaunchFailed'] as const)(
    'avoids the node after %s (POLICY: whatever the cause of the failure)',
    (cause) => {
      const d = retryDecision(input({ cause }));
      expect(d.retry && d.avoidNodes).toEqual(['n1']);
    },
  );

  it('accumulates avoided nodes from every earlier failure of the same job', () => {
    const d = retryDecision(
      input({
        cause: 'NodeLost',
        node: 'n3',
        previousFailures: [
          { cause: 'LaunchFailed', node: 'n2' },
          { cause: 'ExitNonZero', node: 'n9' },
          { cause: 'NodeLost', node: 'n3' },
        ],
      }),
    );
    expect(d).toMatchObject({ retry: true, avoidNodes: ['n2', 'n3', 'n9'] });
  });

  it('OutOfMemory: memory = max(request, peak) × 1.5, even with no retries left', () => {
    const d = retryDecision(input({ cause: 'OutOfMemory', peakRssMb: 6000, retriesAllowed: 0 }));
    expect(d).toMatchObject({
      retry: true,
      request: vec(2, 9000),
      countsAgainstRetries: true,
      notBefore: NOW,
    });
    const low = retryDecision(input({ cause: 'OutOfMemory', peakRssMb: 100 }));
    expect(low).toMatchObject({ retry: true, request: vec(2, 6144) });
  });

  it('OutOfMemory: capped by the largest node; at the cap only as retries allow', () => {
    const largestNode = vec(64, 8000);
    const capped = retryDecision(input({ cause: 'OutOfMemory', peakRssMb: 7000, largestNode }));
    expect(capped).toMatchObject({ retry: true, request: vec(2, 8000) });
    const atCap = { cause: 'OutOfMemory', request: vec(2, 8000), largestNode } as const;
    expect(retryDecision(input({ ...atCap, retriesUsed: 2 })).retry).toBe(false);
    expect(retryDecision(input({ ...atCap, retriesUsed: 1 }))).toMatchObject({
      retry: true,
      request: vec(2, 8000),
      notBefore: NOW + 2000,
    });
  });

  it('explains exit codes and caps the backoff', () => {
    expect(explainExitCode(127)).toBe('command not found');
    expect(explainExitCode(137)).toBe('killed by signal 9');
    expect(retryDecision(input({ exitCode: 126 })).reason).toContain(
      '126 (command not executable)',
    );
    expect(backoffDelay(10, { baseMs: 1000, maxMs: 5000 })).toBe(5000);
    expect(backoffDelay(1_000_000, { baseMs: 1000, maxMs: Infinity })).toBe(1000 * 2 ** 52);
  });
});
