import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { FailureCause } from '../../../src/events/index.js';
import {
  defaultFairShareConfig,
  placeRound,
  queueOrder,
  retryDecision,
  type NodeState,
  type ResourceVector,
  type RetryInput,
} from '../../../src/policy/index.js';
import { node, nodesArb, task, vec } from '../../support/policy-arbitraries.js';

/**
 * POLICY (failure causes): "the scheduler avoids nodes where an attempt of the same job failed,
 * unless no other node fits", whatever the failure's cause. The retry decision names the nodes,
 * placement avoids them softly: these properties tie the two together, pure.
 */
const FAILED: readonly FailureCause[] = [
  'ExitNonZero',
  'Signaled',
  'OutOfMemory',
  'TimeLimit',
  'NodeLost',
  'AgentRestarted',
  'LaunchFailed',
  'Preempted',
];
const NOW = 1_000_000;
const nodeIdArb = fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5', 'n6');
const failureArb = fc.record({ cause: fc.constantFrom(...FAILED), node: nodeIdArb });
const inputArb: fc.Arbitrary<RetryInput> = fc
  .record({
    last: failureArb,
    previous: fc.array(failureArb, { maxLength: 4 }),
    memMb: fc.constantFrom(512, 1024, 4096),
    cpus: fc.constantFrom(0.5, 1, 2, 4),
    peakRssMb: fc.constantFrom(0, 600, 3000),
  })
  .map(({ last, previous, memMb, cpus, peakRssMb }) => ({
    cause: last.cause,
    node: last.node,
    attempt: previous.length + 1,
    now: NOW,
    // Enough retries left that every cause retries: the property is about where, not whether.
    retriesAllowed: 10,
    retriesUsed: 0,
    request: vec(cpus, memMb),
    peakRssMb,
    largestNode: vec(16, 65_536),
    previousFailures: previous,
    backoff: { baseMs: 0, maxMs: 0 },
  }));

const fits = (q: ResourceVector, n: NodeState) =>
  n.used.cpus + q.cpus <= n.capacity.cpus + 1e-9 &&
  n.used.memMb + q.memMb <= n.capacity.memMb + 1e-9 &&
  n.used.gpus + q.gpus <= n.capacity.gpus;

/** The retry of `input` as the one waiting task of a round on `nodes`: where it goes, if anywhere. */
function placeRetry(input: RetryInput, nodes: NodeState[]) {
  const d = retryDecision(input);
  if (!d.retry) throw new Error(`no retry for ${input.cause}: ${d.reason}`);
  const t = task({ jobId: 'J', request: d.request, avoidNodes: d.avoidNodes });
  const ranked = queueOrder([t], {
    capacity: vec(64, 262_144, 8),
    history: () => vec(0, 0, 0),
    config: defaultFairShareConfig,
  });
  const { placements } = placeRound(ranked, nodes, NOW);
  return { decision: d, request: d.request, node: placements[0]?.node };
}

describe('a retry avoids every node where an attempt of its job failed', () => {
  test.prop([inputArb, nodesArb], { numRuns: 500 })(
    'never placed on such a node while another ready node fits it',
    (input, nodes) => {
      const failedOn = new Set([input.node, ...input.previousFailures.map((f) => f.node)]);
      const { decision, request, node: at } = placeRetry(input, nodes);
      expect(decision.retry && [...decision.avoidNodes].sort()).toEqual([...failedOn].sort());
      if (at === undefined || !failedOn.has(at)) return;
      const elsewhere = nodes.filter(
        (n) => n.state === 'ready' && !failedOn.has(n.id) && fits(request, n),
      );
      expect(elsewhere.map((n) => n.id)).toEqual([]);
    },
  );

  test.prop([inputArb, fc.uniqueArray(nodeIdArb, { maxLength: 5 })], { numRuns: 300 })(
    'still placed on it when no other node fits',
    (input, others) => {
      // The failed node is empty and large; every other node is full, or not ready.
      const nodes = [
        node({ id: input.node, capacity: vec(16, 65_536) }),
        ...others
          .filter((id) => id !== input.node)
          .map((id, i) =>
            node({
              id,
              ...(i % 2 === 0
                ? { used: vec(8, 32_768) }
                : { state: 'lost' as const, used: vec(0, 0) }),
            }),
          ),
      ];
      expect(placeRetry(input, nodes).node).toBe(input.node);
    },
  );
});
