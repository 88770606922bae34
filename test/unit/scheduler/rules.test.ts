import { describe, expect, it } from 'vitest';
import { chunkFold, workerFold } from '../../../src/actors/index.js';
import type { ChunkSnapshot, WorkerSnapshot } from '../../../src/actors/index.js';
import { workerId, type DroverEvent } from '../../../src/events/index.js';
import { chunkRules, type Peek, type RuleContext } from '../../../src/scheduler/rules.js';
import { ev, scheduler } from '../../support/decider-spec.js';

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
