import { describe, expect, it } from 'vitest';
import { chunkFold, jobFold, workerFold } from '../../../src/actors/index.js';
import type { ChunkSnapshot, WorkerSnapshot } from '../../../src/actors/index.js';
import { workerId, type DroverEvent } from '../../../src/events/index.js';
import {
  chunkRules,
  jobRules,
  type Action,
  type Peek,
  type RuleContext,
} from '../../../src/scheduler/rules.js';
import { ev, scheduler, spec } from '../../support/decider-spec.js';

const w = workerId('J', 0, 1);
const request = { cpus: 1, memMb: 256, gpus: 0 };
const cancelling: DroverEvent[] = [
  ev('chunk.created', { jobId: 'J', index: 0, total: 1 }),
  ev('chunk.assigned', { attempt: 1, node: 'n1', worker: w, request }),
  ev('chunk.started', { attempt: 1, pid: 42 }),
  ev('chunk.cancel_requested', { reason: 'operator' }),
];
const launch = { jobId: 'J', chunk: 0, attempt: 1, node: 'n1', memLimitMb: 256 };
const running: DroverEvent[] = [
  ev('worker.launching', launch),
  ev('worker.started', { pid: 42, pgid: 42 }),
];
const killAsked = ev('worker.kill_requested', { reason: 'cancel', signal: 'SIGTERM' });
const lost = ev('worker.lost', { cause: 'NodeLost', reason: 'no heartbeat' });

function rulesFor(worker: DroverEvent[] | undefined) {
  const chunk: ChunkSnapshot = chunkFold.foldEvents(cancelling);
  const ws: WorkerSnapshot | undefined = worker && workerFold.foldEvents(worker);
  const peek: Peek = {
    job: () => undefined,
    chunk: (id) => (id === 'J:0' ? chunk : undefined),
    worker: (id) => (id === w ? ws : undefined),
    node: () => undefined,
  };
  const ctx: RuleContext = { peek, by: scheduler, now: 1, largestNode: request };
  return chunkRules(ctx, 'J:0').map((a) =>
    a.entity === 'kill'
      ? `kill ${a.worker} on ${a.node}`
      : `${a.entity} ${(a.command as { type: string }).type}`,
  );
}

describe('chunk rules: the kill of a cancelled chunk', () => {
  it('asks the worker first; the kill goes out once that request is stored', () => {
    expect(rulesFor(running)).toEqual(['worker RequestKill']);
    expect(rulesFor([...running, killAsked])).toEqual([`kill ${w} on n1`]);
  });

  it('sends the kill as is to a worker that cannot take the request (lost) or is not known yet', () => {
    expect(rulesFor([...running, lost])).toEqual([`kill ${w} on n1`]);
    expect(rulesFor(undefined)).toEqual([`kill ${w} on n1`]);
  });

  it('sends nothing for a worker that has ended', () => {
    const killed = ev('worker.killed', {
      signal: 'SIGTERM',
      cause: 'Cancelled',
      peakRssMb: 1,
      cpuSeconds: 0,
      wallSeconds: 1,
    });
    expect(rulesFor([...running, killAsked, killed])).toEqual([]);
  });

  it('confirms the cancel itself when the worker exited (its agent reported an exit instead)', () => {
    // Regression of the chaos run (issue 23): lost with its agent, then settled from its status
    // file by the agent that came back; the agent's failed attempt was refused by the chunk.
    const exited = ev('worker.exited', {
      exitCode: null,
      signal: 'SIGTERM',
      cause: 'Signaled',
      peakRssMb: 1,
      cpuSeconds: 0,
      wallSeconds: 1,
    });
    expect(rulesFor([...running, killAsked, lost, exited])).toEqual(['chunk ConfirmCancelled']);
  });
});

describe('job rules: the cancel cascade asks the kill with the chunk cancel', () => {
  const runningChunk = cancelling.slice(0, 3);
  const jobCancelling = jobFold.foldEvents([
    ev('job.submitted', spec({ chunks: 1 })),
    ev('job.queued', {}),
    ev('job.started', {}),
    ev('job.cancel_requested', { reason: 'operator' }),
  ]);
  const said = (a: Action) =>
    a.entity === 'kill'
      ? `kill ${a.worker}`
      : `${a.entity} ${a.id} ${(a.command as { type: string }).type} ${a.command.id}`;

  function look(chunk: DroverEvent[], worker: DroverEvent[] | undefined): RuleContext {
    const c = chunkFold.foldEvents(chunk);
    const ws = worker && workerFold.foldEvents(worker);
    const peek: Peek = {
      job: (id) => (id === 'J' ? jobCancelling : undefined),
      chunk: (id) => (id === 'J:0' ? c : undefined),
      worker: (id) => (id === w ? ws : undefined),
      node: () => undefined,
    };
    return { peek, by: scheduler, now: 7, largestNode: request };
  }
  const cascade = (chunk: DroverEvent[], worker: DroverEvent[] | undefined) =>
    jobRules(look(chunk, worker), 'J', false);

  it("asks a live worker's kill in the same step, with the id the chunk rule would use", () => {
    const actions = cascade(runningChunk, running);
    expect(actions.map(said)).toEqual([
      'chunk J:0 RequestCancel cancel:J>cancel:J:0',
      `worker ${w} RequestKill kill:${w}`,
    ]);
    // Both decided at the same moment; the chunk rule's later ask is the same command (deduped).
    expect(actions.map((a) => a.entity !== 'kill' && a.command.at)).toEqual([7, 7]);
    expect(chunkRules(look(cancelling, running), 'J:0').map(said)).toEqual([
      `worker ${w} RequestKill kill:${w}`,
    ]);
  });

  it('asks nothing ahead for a worker that was asked already, ended, lost or is unknown', () => {
    const ended = ev('worker.killed', {
      signal: 'SIGTERM',
      cause: 'Cancelled',
      peakRssMb: 1,
      cpuSeconds: 0,
      wallSeconds: 1,
    });
    for (const worker of [
      [...running, killAsked],
      [...running, ended],
      [...running, lost],
    ])
      expect(cascade(runningChunk, worker).map(said)).toEqual([
        'chunk J:0 RequestCancel cancel:J>cancel:J:0',
      ]);
    expect(cascade(runningChunk, undefined)).toHaveLength(1);
  });
});
