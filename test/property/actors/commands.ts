import { fc } from '@fast-check/vitest';
import type {
  ChunkCommand,
  ChunkSnapshot,
  CommandMeta,
  EntityBehaviour,
  JobCommand,
  JobSnapshot,
  NodeCommand,
  WorkerCommand,
} from '../../../src/actors/index.js';
import {
  chunkBehaviour,
  jobBehaviour,
  nodeBehaviour,
  workerBehaviour,
} from '../../../src/actors/index.js';
import type { DroverEvent, SettledState } from '../../../src/events/index.js';
import { workerId } from '../../../src/events/index.js';
import { scheduler, spec } from '../../support/decider-spec.js';

/**
 * Random command programs for one entity: each step is a few small numbers that `toCommand`
 * turns into a concrete command relative to the current state (current attempt ± something, a
 * known or unknown child, an index in or out of range), so programs hit both legal and illegal
 * commands. Running one through `decide` gives a valid history: the accepted events and the
 * audits of the rejections, exactly what the runtime would append.
 */
export type Step = readonly [op: number, a: number, b: number, flag: boolean, legal: boolean];

/** One 31-bit number per step, cut into its fields (cheaper to generate than a tuple). */
export function toStep(n: number): Step {
  return [
    n & 0xffff,
    (n >>> 16) & 3,
    ((n >>> 18) & 3) % 3,
    ((n >>> 20) & 1) === 1,
    ((n >>> 21) & 3) !== 0,
  ];
}
export const stepArb: fc.Arbitrary<Step> = fc.nat().map(toStep);
export const programArb = fc.array(stepArb, { maxLength: 24, size: 'max' });

const SETTLED: readonly SettledState[] = ['succeeded', 'failed', 'cancelled'];
const request = { cpus: 1, memMb: 64, gpus: 0 };
const usage = { peakRssMb: 10, cpuSeconds: 1, wallSeconds: 1 };

/** 0..n-1 in an order seeded by `seed` (Fisher-Yates with xorshift32): deterministic. */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let x = seed | 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** All the commands a step may mean; the step's `op` picks one. */
type Make<S, C> = (s: S, step: Step, m: CommandMeta) => readonly C[];

const jobCommand: Make<JobSnapshot, JobCommand> = (_s, [, a, b, flag], m) => {
  const childId = `kid${a % 2}`;
  const settlement = {
    state: a < 2 ? 'succeeded' : (SETTLED[b] ?? 'failed'),
    quiescent: flag || b > 0,
  };
  const all: JobCommand[] = [
    { ...m, type: 'SubmitJob', data: spec({ chunks: 2 }) },
    { ...m, type: 'QueueJob' },
    { ...m, type: 'HoldJob', data: { reason: 'r' } },
    { ...m, type: 'ReleaseJob', data: {} },
    { ...m, type: 'StartJob' },
    { ...m, type: 'AddChild', data: { childId } },
    { ...m, type: 'RecordChildSettled', data: { childId, ...settlement } },
    { ...m, type: 'RecordChildQuiesced', data: { childId } },
    { ...m, type: 'RecordChunksSettled', data: { chunks: [{ index: a % 3, ...settlement }] } },
    { ...m, type: 'RecordChunksQuiesced', data: { indices: [a % 3] } },
    { ...m, type: 'ChangePriority', data: { priority: a, reason: 'r' } },
    { ...m, type: 'CompleteJob' },
    { ...m, type: 'FailJob', data: { cause: 'ExitNonZero', message: 'm' } },
    ...(a === 0 ? [{ ...m, type: 'RequestCancel', data: { reason: 'r' } } as const] : []), // cancel absorbs: rarer
    { ...m, type: 'ConfirmCancelled' },
    { ...m, type: 'ClearResults' },
  ];
  return all;
};

const chunkCommand: Make<ChunkSnapshot, ChunkCommand> = (s, [, a, b, flag], m) => {
  const current = Math.max(1, s.context.attempt);
  const attempt = a === 3 ? current + (b === 0 ? 1 : -1) : current; // one in four is off by one
  const next = a === 3 ? current + b : s.context.attempt + 1;
  const all: ChunkCommand[] = [
    { ...m, type: 'CreateChunk', data: { jobId: 'J', index: 0, total: 1 } },
    {
      ...m,
      type: 'AssignChunk',
      data: {
        attempt: Math.max(1, next),
        node: `n${b}`,
        worker: workerId('J', 0, Math.max(1, next)),
        request,
      },
    },
    { ...m, type: 'StartChunk', data: { attempt, pid: 1 } },
    {
      ...m,
      type: 'ReportProgress',
      data: { attempt, progress: b / 2, ...(flag && { checkpoint: `cp${a}` }) },
    },
    { ...m, type: 'ReportResult', data: { attempt, result: { a, b } } },
    { ...m, type: 'ReportAttemptFailed', data: { attempt, cause: 'NodeLost', confirmed: flag } },
    { ...m, type: 'FailChunk', data: { cause: 'ExitNonZero', message: 'm' } },
    { ...m, type: 'RequestCancel', data: { reason: 'r' } },
    { ...m, type: 'ConfirmCancelled', data: { attempt, confirmed: flag } },
    { ...m, type: 'ConfirmProcessStopped', data: { attempt: s.context.unconfirmed[b] ?? attempt } },
    { ...m, type: 'ClearResults' },
  ];
  return [...all, ...all.slice(1, 5)]; // assign, start, progress and result weigh double
};

const workerCommand: Make<unknown, WorkerCommand> = (_s, [, a, b], m) => {
  const all: WorkerCommand[] = [
    {
      ...m,
      type: 'LaunchWorker',
      data: { jobId: 'J', chunk: 0, attempt: 1, node: 'n', memLimitMb: 64 },
    },
    { ...m, type: 'ReportStarted', data: { pid: 1, pgid: 1 } },
    { ...m, type: 'ReportSample', data: { rssMb: a * 10, peakRssMb: a * 10 + b, cpuSeconds: a } },
    { ...m, type: 'RequestKill', data: { reason: 'hung', signal: 'SIGTERM' } },
    {
      ...m,
      type: 'ReportExited',
      data: { ...usage, exitCode: b, signal: null, cause: 'ExitNonZero' },
    },
    { ...m, type: 'ReportKilled', data: { ...usage, signal: 'SIGKILL', cause: 'Cancelled' } },
    { ...m, type: 'MarkLost', data: { cause: 'NodeLost', reason: 'r' } },
    { ...m, type: 'ReadoptWorker', data: { pid: 2 } },
  ];
  return all;
};

const nodeCommand: Make<unknown, NodeCommand> = (_s, [, a], m) => {
  const registration = {
    hostname: 'h',
    cpus: 4,
    memMb: 1024,
    gpus: 0,
    labels: {},
    incarnation: `i${a}`,
  };
  const all: NodeCommand[] = [
    { ...m, type: 'RegisterNode', data: registration },
    { ...m, type: 'MarkReady' },
    { ...m, type: 'RequestDrain', data: { reason: 'r' } },
    { ...m, type: 'ConfirmDrained' },
    { ...m, type: 'Undrain' },
    { ...m, type: 'Cordon', data: { reason: 'r' } },
    { ...m, type: 'Uncordon' },
    { ...m, type: 'MarkLost', data: { reason: 'r' } },
    { ...m, type: 'MarkOffline', data: { reason: 'r' } },
  ];
  return all;
};

export interface EntityProgram {
  readonly name: string;
  readonly behaviour: EntityBehaviour<unknown, unknown>;
  readonly make: Make<unknown, unknown>;
}

export const entityPrograms: readonly EntityProgram[] = [
  { name: 'job', behaviour: jobBehaviour, make: jobCommand },
  { name: 'chunk', behaviour: chunkBehaviour, make: chunkCommand },
  { name: 'worker', behaviour: workerBehaviour, make: workerCommand },
  { name: 'node', behaviour: nodeBehaviour, make: nodeCommand },
] as unknown as readonly EntityProgram[];

/**
 * Run a program: every step decided on the state so far; accepted events and rejection audits
 * are appended (and folded, which throws if a decision ever produced an unacceptable event).
 * Three steps in four take, when the command at `op` is refused, the first accepted command
 * among four of a permutation seeded by `op` (about uniform among the accepted ones), so programs
 * get deep into the life cycles. The others keep the command at `op`, legal or not.
 */
export function runProgram(
  { behaviour, make }: EntityProgram,
  steps: readonly Step[],
): DroverEvent[] {
  const events: DroverEvent[] = [];
  let state = behaviour.initial();
  steps.forEach((step, i) => {
    const all = make(state, step, { id: `c${i}`, at: 1000 + i, by: scheduler });
    const [op, , , , legal] = step;
    let decision = behaviour.decide(state, all[op % all.length]);
    if (legal && !decision.ok) {
      for (const k of shuffled(all.length, op).slice(0, 4)) {
        decision = behaviour.decide(state, all[k]);
        if (decision.ok) break;
      }
    }
    const produced = decision.ok ? decision.events : (decision.audit ?? []);
    for (const e of produced) state = behaviour.evolve(state, e);
    events.push(...produced);
  });
  return events;
}
